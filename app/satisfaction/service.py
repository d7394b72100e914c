"""Satisfaction surveys (issue 6, item 7).

When a case closes, by any path (the case resource's ``after_write`` calls :func:`case_closed`),
a ``satisfaction.send_survey`` job is queued in the closing transaction. The job emails the
case's contact (or the address the case was supplied with) a link ``/s/csat/<token>``: the
case id and an expiry signed with HMAC-SHA256 under the service's link-signing key (the one the
email tracking links use, with its own ``csat`` prefix so a tracking signature never passes
here). The answer is stored on the case once (``satisfaction_score``, ``_comment``, ``_at``),
in its field history, with a ``case.satisfaction_recorded`` event. A case reopened and closed
again gets a new survey only while none was answered.
"""

import base64
import hashlib
import hmac
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import events, jobs
from app.config import Settings
from app.email import smtp
from app.email.service import SEND_TASK, new_token
from app.email.tracking import signing_key
from app.kit import clock
from app.kit.errors import AppError, BadRequest
from app.kit.ids import new_id
from app.models import Case, Contact, EmailMessage

TASK = "satisfaction.send_survey"
VALID_FOR = timedelta(days=14)
RECORDED = events.declare(
    "case.satisfaction_recorded", "A customer answered the satisfaction survey of a case"
)


class LinkExpired(AppError):
    status, code = 410, "link_expired"


async def case_closed(session: AsyncSession, case: Case) -> None:
    """A case has just closed: queue its survey unless the customer already answered one."""
    if case.satisfaction_at is not None:
        return
    await jobs.enqueue(session, TASK, {"case_id": str(case.id)}, dedupe_key=f"csat:{case.id}")


# --- signed links ------------------------------------------------------------------------------


def _mac(key: bytes, case_id: uuid.UUID, expires: int) -> str:
    mac = hmac.new(key, f"csat\n{case_id}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def make_token(key: bytes, case_id: uuid.UUID, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    return f"{case_id.hex}.{expires}.{_mac(key, case_id, expires)}"


def read_token(key: bytes, token: str) -> uuid.UUID:
    """The case a token is for: 400 ``invalid_link`` when it was not made here or was changed,
    410 ``link_expired`` once its time is up (checked after the signature, so an expiry cannot be
    forged)."""
    parts = token.split(".")
    try:
        case_hex, expires_text, signature = parts
        case_id = uuid.UUID(hex=case_hex)
        expires = int(expires_text)
    except ValueError as exc:
        raise BadRequest("This survey link is not valid", code="invalid_link") from exc
    expected = _mac(key, case_id, expires)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise BadRequest("This survey link is not valid", code="invalid_link")
    if clock.now().timestamp() >= expires:
        raise LinkExpired("This survey link has expired")
    return case_id


# --- the job -----------------------------------------------------------------------------------


async def send_survey(session: AsyncSession, settings: Settings, case_id: uuid.UUID) -> bool:
    """Queue the survey email for a closed, unanswered case (once per close: a retry after the
    email was queued finds ``satisfaction_sent_at`` at or after ``closed_at``)."""
    case = await session.scalar(select(Case).where(Case.id == case_id).with_for_update())
    if (
        case is None
        or case.deleted_at is not None
        or not case.is_closed
        or case.satisfaction_at is not None
        or (
            case.satisfaction_sent_at is not None
            and case.closed_at is not None
            and case.satisfaction_sent_at >= case.closed_at
        )
    ):
        return False
    to, name = case.supplied_email, case.supplied_name
    if case.contact_id is not None:
        contact = await session.get(Contact, case.contact_id)
        if contact is not None and contact.deleted_at is None:
            if contact.has_opted_out_of_email:
                return False
            if contact.email:
                to = contact.email
                name = " ".join(x for x in (contact.first_name, contact.last_name) if x)
    if not to:
        return False
    now = clock.now()
    key = await signing_key(session, settings)
    link = f"{settings.public_url.rstrip('/')}/s/csat/{make_token(key, case.id, now + VALID_FOR)}"
    subject = f"How did we do? Case {case.case_number}: {case.subject or ''}".strip()
    text = "\n".join(
        [
            f"Hello {name or ''},".replace(" ,", ","),
            "",
            f"Your case {case.case_number} ({case.subject or 'no subject'}) is now closed.",
            "Please tell us how satisfied you are with how we handled it (one click, 1 to 5):",
            link,
            "",
            f"The link works once and for {VALID_FOR.days} days.",
        ]
    )
    message = EmailMessage(
        id=new_id(),
        status="queued",
        related_type="case",
        related_id=case.id,
        to_address=to,
        to_name=name or None,
        subject=subject[:1000],
        text_body=text,
        html_body=None,
        track=False,
        tracking_token=new_token(),
        sent_by=None,
        from_address=smtp.from_header(settings, None),
        reply_to=None,
    )
    session.add(message)
    # Bookkeeping, not a change of the case anybody made: no history entry, no new version.
    await session.execute(update(Case).where(Case.id == case.id).values(satisfaction_sent_at=now))
    await session.flush()
    await jobs.enqueue(session, SEND_TASK, {"message_ids": [str(message.id)]})
    return True
