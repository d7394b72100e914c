"""Sending email: one message about a record (or to an address), and mass email to a campaign's
members or to a list view of leads or contacts.

Nothing is sent here. Messages are rendered and stored in the request's transaction with a job
that sends them (``app/email/tasks.py``); both exist only if the request commits, so a request
that fails or rolls back sends nothing, and a committed one is sent even if the mail server is
down for a while (the job is retried with backoff).
"""

import secrets
import uuid
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import jobs
from app.auth.principal import Principal
from app.campaigns.repository import campaigns
from app.config import Settings
from app.email import merge, rendering, schemas, smtp
from app.email.repository import PARTS
from app.email.repository import records as templates
from app.kit import clock
from app.kit.errors import NotFound, ValidationFailed
from app.kit.ids import new_id
from app.kit.resource import invalid
from app.models import CampaignMember, Contact, EmailClick, EmailMessage, Lead, MassEmail

SEND_TASK = "email.send"
PEOPLE = {"lead": (Lead, CampaignMember.lead_id), "contact": (Contact, CampaignMember.contact_id)}


def new_token() -> str:
    return secrets.token_urlsafe(16)


async def _parts(
    session: AsyncSession, principal: Principal, body: schemas._Compose
) -> tuple[dict[str, str | None], uuid.UUID | None]:
    if body.template_id is None:
        return {
            "subject": body.subject,
            "html_body": body.html_body,
            "text_body": body.text_body,
        }, None
    try:
        template = await templates.read(session, principal, body.template_id)
    except NotFound as exc:
        raise invalid("template_id", "not_found", "No such email template") from exc
    if not template["is_active"]:
        raise invalid("template_id", "inactive", "This email template is not active")
    return {p: template[p] for p in PARTS}, body.template_id


def _person_name(row: dict | None) -> str | None:
    if not row or "last_name" not in row:
        return None
    return " ".join(x for x in (row.get("first_name"), row.get("last_name")) if x) or None


def _opted_out(kind: str) -> ValidationFailed:
    message = f"This {kind} has opted out of email"
    return ValidationFailed(
        message, code="opted_out", errors=[{"field": "to", "code": "opted_out", "message": message}]
    )


async def _sender(session: AsyncSession, principal: Principal, settings: Settings) -> dict:
    user = await merge.sender(session, principal.user_id)
    return {
        "sent_by": principal.user_id,
        "from_address": smtp.from_header(settings, user["name"] or None),
        "reply_to": user["email"] or None,
    }


async def send(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    body: schemas.EmailSendFromRecord,
    related_type: str | None,
    related_id: uuid.UUID | None,
) -> EmailMessage:
    """Render and queue one email. The record must be one the caller can read (404)."""
    row = None
    if related_type is not None and related_id is not None:
        row = await merge.RECORDS[related_type].read(session, principal, related_id)
    to = body.to or (row.get("email") if row else None)
    if not to:
        raise invalid("to", "required", f"This {related_type} has no email address: give `to`")
    if row and row.get("has_opted_out_of_email"):
        raise _opted_out(related_type or "record")
    parts, template_id = await _parts(session, principal, body)
    rendered = await merge.render_one(session, principal, parts, related_type, row)
    message = EmailMessage(
        id=new_id(),
        status="queued",
        template_id=template_id,
        related_type=related_type,
        related_id=related_id,
        to_address=to,
        to_name=_person_name(row),
        subject=rendered.subject,
        html_body=rendered.html_body,
        text_body=rendered.text_body,
        track=body.track,
        tracking_token=new_token(),
        **await _sender(session, principal, settings),
    )
    session.add(message)
    await session.flush()
    await jobs.enqueue(session, SEND_TASK, {"message_ids": [str(message.id)]})
    return message


async def queue_notice(
    session: AsyncSession,
    settings: Settings,
    recipients: list[tuple[str, str | None]],
    *,
    subject: str,
    text: str,
    related_type: str | None = None,
    related_id: uuid.UUID | None = None,
) -> list[EmailMessage]:
    """Plain-text email from the service itself (no sending user, no tracking) to each
    ``(address, name)``: confirmations, offers, verification links, surveys. Queued in the
    caller's transaction with one send job, so it leaves only if that transaction commits."""
    messages = [
        EmailMessage(
            id=new_id(),
            status="queued",
            related_type=related_type,
            related_id=related_id,
            to_address=address,
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
        for address, name in recipients
    ]
    if not messages:
        return []
    session.add_all(messages)
    await session.flush()
    await jobs.enqueue(session, SEND_TASK, {"message_ids": [str(m.id) for m in messages]})
    return messages


# --- mass email ------------------------------------------------------------------------------


class Recipients:
    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, Any]]] = []
        self.opted_out = 0
        self.no_email = 0

    def add(self, kind: str, row: dict[str, Any]) -> None:
        if not row.get("email"):
            self.no_email += 1
        elif row.get("has_opted_out_of_email"):
            self.opted_out += 1
        else:
            self.rows.append((kind, row))


def _too_many(limit: int, found: int | None = None) -> ValidationFailed:
    how_many = f"{found:,}" if found is not None else f"more than {limit:,}"
    return ValidationFailed(
        f"This mass email would go to {how_many} recipients; the limit is {limit:,} per send",
        code="too_many_recipients",
        extra={"limit": limit, **({"recipients": found} if found is not None else {})},
    )


async def campaign_recipients(
    session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, limit: int
) -> Recipients:
    """The campaign's live members that are leads or contacts the caller can read. Counted in
    SQL first, so a campaign over the limit is refused without loading it."""
    if not await campaigns.visible_id(session, principal, campaign_id):
        raise invalid("campaign_id", "not_found", "No such campaign")
    out = Recipients()
    deliverable: dict[str, Any] = {}
    total = 0
    for kind, (model, member_fk) in PEOPLE.items():
        records = merge.RECORDS[kind]
        no_email = or_(model.email.is_(None), model.email == "")
        opted = model.has_opted_out_of_email.is_(True)
        members = (
            (CampaignMember.campaign_id == campaign_id),
            CampaignMember.deleted_at.is_(None),
            records.readable(principal),
        )
        counts = (
            await session.execute(
                select(
                    func.count().filter(no_email),
                    func.count().filter(~no_email & opted),
                    func.count().filter(~no_email & ~opted),
                )
                .select_from(model)
                .join(CampaignMember, member_fk == model.id)
                .where(*members)
            )
        ).one()
        out.no_email += counts[0]
        out.opted_out += counts[1]
        total += counts[2]
        deliverable[kind] = (
            select(*model.__table__.columns)
            .join(CampaignMember, member_fk == model.id)
            .where(*members, ~no_email, ~opted)
            .order_by(model.id)
        )
    if total > limit:
        raise _too_many(limit, total)
    for kind, stmt in deliverable.items():
        result = await session.execute(stmt)
        names = tuple(result.keys())
        out.rows.extend((kind, dict(zip(names, r, strict=True))) for r in result.all())
    return out


async def list_recipients(
    session: AsyncSession,
    principal: Principal,
    object_type: str,
    filters: dict[str, str],
    q: str | None,
    limit: int,
) -> Recipients:
    """The leads or contacts a list view shows the caller (the list endpoint's filters, through
    ``Records.find``), page by page until the end or past the limit."""
    kind = {"leads": "lead", "contacts": "contact"}[object_type]
    records = merge.RECORDS[kind]
    out = Recipients()
    cursor = None
    params = list(filters.items())
    while True:
        rows, cursor = await records.find(
            session, principal, params, limit=1000, cursor=cursor, sort=None, q=q
        )
        for row in rows:
            out.add(kind, row)
        if len(out.rows) > limit:
            raise _too_many(limit)
        if cursor is None:
            return out


async def mass_send(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    body: schemas.MassEmailCreate,
) -> MassEmail:
    limit = settings.email_mass_limit
    parts, template_id = await _parts(session, principal, body)
    if body.campaign_id is not None:
        found = await campaign_recipients(session, principal, body.campaign_id, limit)
    else:
        assert body.object_type is not None
        found = await list_recipients(
            session, principal, body.object_type, body.filters, body.q, limit
        )
    # The subject as the log shows it: the template's (unrendered) or the one given.
    mass = MassEmail(
        id=new_id(),
        created_by=principal.user_id,
        template_id=template_id,
        subject=(parts["subject"] or "")[:1000],
        campaign_id=body.campaign_id,
        object_type=body.object_type,
        filters=body.filters or None,
        track=body.track,
        recipients=len(found.rows),
        skipped_opted_out=found.opted_out,
        skipped_no_email=found.no_email,
    )
    session.add(mass)
    await session.flush()
    sender = await _sender(session, principal, settings)
    pool = rendering.pool()
    messages: list[dict[str, Any]] = []
    for kind in PEOPLE:
        rows = [row for k, row in found.rows if k == kind]
        if not rows:
            continue
        contexts = await merge.contexts(session, principal, kind, rows)
        results = await pool.render(parts, contexts)
        for row, result in zip(rows, results, strict=True):
            message: dict[str, Any] = {
                "id": new_id(),
                "mass_email_id": mass.id,
                "template_id": template_id,
                "related_type": kind,
                "related_id": row["id"],
                "to_address": row["email"],
                "to_name": _person_name(row),
                "track": body.track,
                "tracking_token": new_token(),
                "created_at": clock.now(),
                "updated_at": clock.now(),
                **sender,
            }
            if isinstance(result, rendering.RenderFailed):
                message.update(
                    status="failed",
                    subject=mass.subject,
                    html_body=None,
                    text_body=None,
                    error=f"The template cannot be rendered: {result.message}",
                )
            else:
                message.update(
                    status="queued",
                    subject=result.subject,
                    html_body=result.html_body,
                    text_body=result.text_body,
                    error=None,
                )
            messages.append(message)
    if messages:
        await session.execute(insert(EmailMessage), messages)
    queued = [str(m["id"]) for m in messages if m["status"] == "queued"]
    size = max(1, settings.email_batch_size)
    for start in range(0, len(queued), size):
        await jobs.enqueue(session, SEND_TASK, {"message_ids": queued[start : start + size]})
    return mass


__all__ = ["SEND_TASK", "campaign_recipients", "list_recipients", "mass_send", "send"]


async def present_messages(
    session: AsyncSession, messages: list[EmailMessage]
) -> list[schemas.Email]:
    """Sent emails as the API shows them, with their tracking and clicks."""
    clicks: dict[uuid.UUID, list[EmailClick]] = {}
    ids = [m.id for m in messages if m.click_count]
    if ids:
        rows = await session.scalars(
            select(EmailClick)
            .where(EmailClick.message_id.in_(ids))
            .order_by(EmailClick.message_id, EmailClick.count.desc(), EmailClick.url)
        )
        for c in rows:
            clicks.setdefault(c.message_id, []).append(c)
    out = []
    for m in messages:
        tracking = schemas.Tracking(
            first_opened_at=m.first_opened_at,
            last_opened_at=m.last_opened_at,
            open_count=m.open_count,
            first_clicked_at=m.first_clicked_at,
            click_count=m.click_count,
            clicks=[schemas.EmailClickOut.model_validate(c) for c in clicks.get(m.id, [])],
        )
        fields = {k: getattr(m, k) for k in schemas.Email.model_fields if k != "tracking"}
        out.append(schemas.Email(**fields, tracking=tracking))
    return out
