"""Inbound mail as one shape, whether the gateway posts the raw message (``message/rfc822``,
parsed here with the standard library's ``email`` package) or fields it parsed itself (JSON).

Parsing never raises anything but :class:`Malformed`: whatever bytes arrive, the caller either
gets a :class:`Mail` or a 422.
"""

import base64
import binascii
import hashlib
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from app.email.smtp import text_from_html


class Malformed(ValueError):
    """Not a message we can read."""


@dataclass
class Part:
    filename: str
    content_type: str
    content: bytes
    is_inline: bool = False
    content_id: str | None = None


@dataclass
class Mail:
    from_address: str
    from_name: str | None
    to: list[str]
    subject: str
    text: str
    message_id: str
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    attachments: list[Part] = field(default_factory=list)
    # Set when the message says it was sent by a machine (auto-reply, bulk, bounce).
    automatic: str | None = None


_MSGID = re.compile(r"<[^<>\s]+>")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def message_ids(value: str | None) -> list[str]:
    """The Message-IDs in an In-Reply-To or References header, in order."""
    return _MSGID.findall(value or "")[:50]


def normal_id(value: str | None) -> str | None:
    ids = message_ids(value)
    if ids:
        return ids[0][:998]
    value = (value or "").strip()
    return f"<{value[:990]}>" if value and " " not in value else None


def sanitise_filename(name: str | None, content_type: str) -> str:
    """A name safe for a download header and a file system: no directories, control or
    reserved characters, not hidden, at most 255 characters (keeping the extension)."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        ext = mimetypes.guess_extension(content_type) or ".bin"
        name = f"attachment{ext}"
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) < 20 else name[:255]
    return name


def _automatic(get) -> str | None:
    auto = (get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return "auto_submitted"
    if (
        get("X-Autoreply")
        or get("X-Autorespond")
        or get("X-Auto-Response-Suppress")
        in (
            "All",
            "all",
        )
    ):
        return "auto_reply"
    if (get("Precedence") or "").strip().lower() in ("bulk", "auto_reply", "junk", "list"):
        return "bulk"
    return None


def _content(part) -> bytes:
    payload = part.get_payload(decode=True)
    if payload is None:  # a message/rfc822 part: keep it as a .eml
        inner = part.get_payload()
        if isinstance(inner, list) and inner:
            return inner[0].as_bytes()
        return b""
    return payload


def parse_mime(raw: bytes) -> Mail:
    if not raw or not raw.strip():
        raise Malformed("The message is empty")
    try:
        msg = message_from_bytes(raw, policy=policy.default)
        return _from_message(msg, raw)
    except Malformed:
        raise
    except Exception as exc:  # the email package raises many kinds on hostile input
        raise Malformed(f"The message cannot be read: {type(exc).__name__}") from exc


def _header(msg: EmailMessage, name: str) -> str | None:
    try:
        value = msg.get(name)
    except Exception:  # a header the policy cannot parse: take it raw
        value = msg.get_all(name, failobj=[None])[0] if hasattr(msg, "get_all") else None
    return None if value is None else str(value)


def _from_message(msg: EmailMessage, raw: bytes) -> Mail:
    if msg.defects and not msg.keys():
        raise Malformed("The message has no headers")
    sender = _header(msg, "From")
    if not sender:
        raise Malformed("The message has no From address")
    name, address = parseaddr(sender)
    if "@" not in address:
        raise Malformed("The From address is not an email address")
    text = html = None
    attachments: list[Part] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        if disposition is None and filename is None and ctype in ("text/plain", "text/html"):
            try:
                body = part.get_content()
            except Exception:
                body = _content(part).decode("utf-8", "replace")
            if ctype == "text/plain" and text is None:
                text = body
            elif ctype == "text/html" and html is None:
                html = body
            continue
        if part is msg:  # a single-part message that is not text: the body itself
            pass
        attachments.append(
            Part(
                filename=sanitise_filename(filename, ctype),
                content_type=ctype[:255],
                content=_content(part),
                is_inline=disposition == "inline",
                content_id=normal_id(part.get("Content-ID")),
            )
        )
    if text is None and html is not None:
        text = text_from_html(html)
    message_id = normal_id(_header(msg, "Message-ID")) or (
        f"<sha256-{hashlib.sha256(raw).hexdigest()}@inbound.invalid>"
    )
    ctype = msg.get_content_type()
    automatic = _automatic(lambda n: _header(msg, n))
    if automatic is None and ctype == "multipart/report":
        automatic = "bounce"
    return Mail(
        from_address=address.strip().lower(),
        from_name=name.strip() or None,
        to=[a for _, a in getaddresses([_header(msg, "To") or ""]) if a],
        subject=" ".join((_header(msg, "Subject") or "").split()),
        text=(text or "").strip(),
        message_id=message_id,
        in_reply_to=message_ids(_header(msg, "In-Reply-To")),
        references=message_ids(_header(msg, "References")),
        attachments=attachments,
        automatic=automatic,
    )


def parse_json(data, headers: dict[str, str] | None = None) -> Mail:
    """The gateway's parsed form (``schemas.InboundJson``)."""
    try:
        address = Address(addr_spec=parseaddr(data.from_)[1])
    except Exception as exc:
        raise Malformed("The from address is not an email address") from exc
    if not address.addr_spec or "@" not in address.addr_spec:
        raise Malformed("The from address is not an email address")
    name = parseaddr(data.from_)[0] or None
    text = data.text if data.text is not None else (text_from_html(data.html) if data.html else "")
    parts = []
    for i, a in enumerate(data.attachments):
        try:
            content = base64.b64decode(a.content, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Malformed(f"attachments[{i}].content is not base64") from exc
        parts.append(
            Part(
                filename=sanitise_filename(a.filename, a.content_type),
                content_type=a.content_type,
                content=content,
                is_inline=a.inline,
                content_id=normal_id(a.content_id),
            )
        )
    digest = hashlib.sha256(data.model_dump_json().encode()).hexdigest()
    get = {k.lower(): v for k, v in (data.headers or {}).items()}.get
    return Mail(
        from_address=address.addr_spec.lower(),
        from_name=name,
        to=[parseaddr(t)[1] for t in data.to if parseaddr(t)[1]],
        subject=" ".join((data.subject or "").split()),
        text=text.strip(),
        message_id=normal_id(data.message_id) or f"<sha256-{digest}@inbound.invalid>",
        in_reply_to=message_ids(data.in_reply_to),
        references=message_ids(data.references),
        attachments=parts,
        automatic=_automatic(lambda n: get(n.lower())),
    )
