"""Building messages (the standard library's ``email.message.EmailMessage``) and handing them to
the SMTP server (aiosmtplib), with failures sorted into "try again later" and "never".
"""

import html
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from urllib.parse import urlsplit

import aiosmtplib

from app.config import Settings
from app.kit import clock


class Transient(Exception):
    """The server could not take the message now (down, busy, 4xx): retry later."""


class Permanent(Exception):
    """The server refused this message for good (5xx for the recipient or the content)."""


def _one_line(value: str) -> str:
    return " ".join(value.split())


_TAGS = re.compile(r"<[^>]+>")
_BLOCKS = re.compile(r"<\s*(br|/p|/div|/h[1-6]|/li|/tr)\b[^>]*>", re.IGNORECASE)
_HIDDEN = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def text_from_html(body: str) -> str:
    """A readable plain-text part for an HTML-only message."""
    body = _HIDDEN.sub("", body)
    body = _BLOCKS.sub("\n", body)
    body = html.unescape(_TAGS.sub("", body))
    lines = [" ".join(line.split()) for line in body.splitlines()]
    return "\n".join(lines).strip() + "\n"


def domain_of(settings: Settings) -> str:
    _, address = parseaddr(settings.smtp_from)
    return address.rpartition("@")[2] or urlsplit(settings.public_url).hostname or "localhost"


def build(
    *,
    message_id: str,
    from_address: str,
    to_address: str,
    to_name: str | None,
    reply_to: str | None,
    subject: str,
    html_body: str | None,
    text_body: str | None,
    domain: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = from_address
    msg["To"] = Address(display_name=_one_line(to_name or ""), addr_spec=to_address)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = _one_line(subject)
    msg["Date"] = format_datetime(clock.now())
    # Stable across retries, so a receiving system can drop a copy delivered twice.
    msg["Message-ID"] = f"<{message_id}@{domain}>"
    msg.set_content(text_body if text_body is not None else text_from_html(html_body or ""))
    if html_body is not None:
        msg.add_alternative(html_body, subtype="html")
    return msg


def from_header(settings: Settings, sender_name: str | None) -> str:
    """The configured address, showing the sender's name when there is one."""
    name, address = parseaddr(settings.smtp_from)
    if sender_name:
        return formataddr((_one_line(sender_name), address))
    return formataddr((name, address)) if name else address


def _classify(exc: Exception) -> Exception:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        if codes and all(c >= 500 for c in codes):
            return Permanent(f"Recipient refused: {detail}")
        return Transient(f"Recipient deferred: {detail}")
    if isinstance(exc, aiosmtplib.SMTPDataError | aiosmtplib.SMTPRecipientRefused):
        text = f"{exc.code} {exc.message}"
        return Permanent(f"Refused: {text}") if exc.code >= 500 else Transient(text)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return Transient(f"Mail server said {exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPException | OSError | TimeoutError):
        return Transient(f"Mail server unavailable: {type(exc).__name__}: {exc}")
    return exc


class Mailer:
    """One SMTP connection, opened on first use, for the messages of one job."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: aiosmtplib.SMTP | None = None

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_tls == "tls",
            start_tls=s.smtp_tls == "starttls",
            username=s.smtp_username,
            password=s.smtp_password,
            timeout=s.smtp_timeout_seconds,
            local_hostname=urlsplit(s.public_url).hostname or "localhost",
        )
        await smtp.connect()
        return smtp

    async def send(self, msg: EmailMessage) -> None:
        try:
            if self._smtp is None or not self._smtp.is_connected:
                self._smtp = await self._connect()
            await self._smtp.send_message(msg)
        except Exception as exc:
            classified = _classify(exc)
            if isinstance(classified, Transient):
                await self.close()
            if classified is exc:
                raise
            raise classified from exc

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except Exception:
                smtp.close()


__all__ = ["Mailer", "Permanent", "Transient", "build", "domain_of", "from_header"]
