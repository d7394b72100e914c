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

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import events, jobs
from app.config import Settings
from app.email.service import queue_notice
from app.email.tracking import signing_key
from app.kit import clock, signed
from app.models import Case, Contact

TASK = "satisfaction.send_survey"
VALID_FOR = timedelta(days=14)
RECORDED = events.declare(
    "case.satisfaction_recorded", "A customer answered the satisfaction survey of a case"
)


async def case_closed(session: AsyncSession, case: Case) -> None:
    """A case has just closed: queue its survey unless the customer already answered one."""
    if case.satisfaction_at is not None:
        return
    await jobs.enqueue(session, TASK, {"case_id": str(case.id)}, dedupe_key=f"csat:{case.id}")


# --- signed links ------------------------------------------------------------------------------


def make_token(key: bytes, case_id: uuid.UUID, expires_at: datetime) -> str:
    return signed.make(key, "csat", case_id, expires_at)


def read_token(key: bytes, token: str) -> uuid.UUID:
    """The case a survey link is for (400 when forged or changed, 410 once expired)."""
    return signed.read(
        key,
        "csat",
        token,
        invalid="This survey link is not valid",
        expired="This survey link has expired",
    )


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
    # Bookkeeping, not a change of the case anybody made: no history entry, no new version.
    await session.execute(update(Case).where(Case.id == case.id).values(satisfaction_sent_at=now))
    await queue_notice(
        session,
        settings,
        [(to, name)],
        subject=subject,
        text=text,
        related_type="case",
        related_id=case.id,
    )
    return True
