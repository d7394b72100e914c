"""Email-to-case and web-to-case: turning a message or a form into a case or a reply on one,
the attachments kept with cases, emails sent from a case, and the solutions used on cases.

Everything runs in the request's transaction and acts on the case as the system
(``policies.SYSTEM``: field history shows no user), since the sender is a customer, not a user.
"""

import uuid
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal, PrincipalKind
from app.cases import policies
from app.cases import schemas as case_schemas
from app.cases import service as case_service
from app.cases.repository import cases
from app.config import Settings
from app.email import schemas as email_schemas
from app.email import service as email_service
from app.email import smtp
from app.inbound import schemas, threading
from app.inbound.mime import Mail, Part
from app.kit import clock
from app.kit.errors import Conflict, NotFound, TooManyRequests
from app.kit.ids import new_id
from app.kit.resource import invalid
from app.models import (
    Case,
    CaseAttachment,
    CaseComment,
    CaseEmail,
    CaseSolution,
    Contact,
    EmailMessage,
    Solution,
    User,
    UserKind,
    WebToCaseCounter,
)
from app.notifications.service import notify
from app.solutions import service as solution_service
from app.solutions.repository import solutions

# Salesforce truncates an email body to 131,072 characters; a case description holds 32,000.
DESCRIPTION_CHARS = 32000
COMMENT_CHARS = 32000
# The public: what a customer may see of the knowledge base (published public solutions).
PUBLIC = Principal(
    kind=PrincipalKind.portal_user,
    scopes=frozenset({"solutions:read"}),
    client_pk=uuid.UUID(int=0),
    client_id="accord-public",
)
_EMAIL = TypeAdapter(EmailStr)


async def suggestions(
    session: AsyncSession, principal: Principal, subject: str | None, description: str | None
) -> list[schemas.SuggestedSolution]:
    found = await solution_service.suggest(
        session, principal, f"{subject or ''}\n{description or ''}", limit=5
    )
    return [schemas.SuggestedSolution(id=s.id, title=s.title, snippet=s.snippet) for s in found]


async def present_case(session: AsyncSession, row: Case) -> case_schemas.Case:
    (item,) = await cases.dump(session, [row])
    return cases.r.out.model_validate(item)


# --- who a case from outside belongs to ---------------------------------------------------


async def default_owner(session: AsyncSession, settings: Settings) -> uuid.UUID:
    """The configured default case owner if active, else the earliest active admin."""
    active = (User.is_active.is_(True), User.kind == UserKind.internal)
    if settings.case_default_owner_id:
        try:
            wanted = uuid.UUID(settings.case_default_owner_id)
        except ValueError:
            wanted = None
        if wanted is not None:
            found = await session.scalar(select(User.id).where(User.id == wanted, *active))
            if found is not None:
                return found
    found = await session.scalar(
        select(User.id)
        .where(*active, User.is_admin.is_(True))
        .order_by(User.created_at, User.id)
        .limit(1)
    )
    if found is None:
        raise Conflict("No active user can own new cases", code="no_default_case_owner")
    return found


async def match_contact(
    session: AsyncSession, address: str
) -> tuple[uuid.UUID | None, uuid.UUID | None, str]:
    """The live contact with this address (and its account); with several, none."""
    rows = (
        await session.execute(
            select(Contact.id, Contact.account_id)
            .where(func.lower(Contact.email) == address.lower(), Contact.deleted_at.is_(None))
            .limit(2)
        )
    ).all()
    if len(rows) == 1:
        return rows[0].id, rows[0].account_id, "one"
    return None, None, "several" if rows else "none"


def valid_email(address: str | None) -> str | None:
    try:
        return str(_EMAIL.validate_python(address)) if address else None
    except ValidationError:
        return None


async def _new_case(
    session: AsyncSession,
    settings: Settings,
    *,
    origin: str,
    subject: str | None,
    description: str | None,
    email: str | None,
    name: str | None,
    extra: dict[str, Any] | None = None,
) -> tuple[Case, str]:
    contact_id, account_id, match = (None, None, "none")
    if email:
        contact_id, account_id, match = await match_contact(session, email)
    data: dict[str, Any] = {
        "subject": (subject or "")[:255] or None,
        "description": (description or "")[:DESCRIPTION_CHARS] or None,
        "supplied_email": valid_email(email),
        "supplied_name": (name or "")[:120] or None,
        "contact_id": contact_id,
        "account_id": account_id,
        "owner_id": await default_owner(session, settings),
        **(extra or {}),
    }
    row = await case_service.create_case(session, policies.SYSTEM, data, origin=origin)
    return row, match


# --- attachments ----------------------------------------------------------------------------


async def store_attachments(
    session: AsyncSession,
    settings: Settings,
    case_id: uuid.UUID,
    email_id: uuid.UUID | None,
    parts: list[Part],
    created_by: uuid.UUID | None = None,
) -> tuple[list[CaseAttachment], list[schemas.SkippedAttachment]]:
    saved: list[CaseAttachment] = []
    skipped: list[schemas.SkippedAttachment] = []
    total = 0
    for part in parts:
        size = len(part.content)
        if size > settings.inbound_max_attachment_bytes:
            skipped.append(
                schemas.SkippedAttachment(filename=part.filename, size=size, reason="too_large")
            )
            continue
        if total + size > settings.inbound_max_message_attachment_bytes:
            skipped.append(
                schemas.SkippedAttachment(
                    filename=part.filename, size=size, reason="message_too_large"
                )
            )
            continue
        total += size
        row = CaseAttachment(
            id=new_id(),
            case_id=case_id,
            case_email_id=email_id,
            filename=part.filename,
            content_type=part.content_type,
            size=size,
            is_inline=part.is_inline,
            content_id=part.content_id,
            content=part.content,
            created_by=created_by,
            created_at=clock.now(),
        )
        session.add(row)
        saved.append(row)
    await session.flush()
    return saved, skipped


async def list_attachments(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID
) -> list[CaseAttachment]:
    if not await cases.visible_id(session, principal, case_id):
        raise NotFound("No such case")
    cols = [c for c in CaseAttachment.__table__.c if c.name != "content"]
    rows = await session.execute(
        select(*cols).where(CaseAttachment.case_id == case_id).order_by(CaseAttachment.id)
    )
    return list(rows.mappings().all())


async def get_attachment(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, attachment_id: uuid.UUID
) -> CaseAttachment:
    if not await cases.visible_id(session, principal, case_id):
        raise NotFound("No such case")
    row = await session.scalar(
        select(CaseAttachment).where(
            CaseAttachment.id == attachment_id, CaseAttachment.case_id == case_id
        )
    )
    if row is None:
        raise NotFound("No such attachment")
    return row


# --- email-to-case --------------------------------------------------------------------------


def own_addresses(settings: Settings) -> set[str]:
    return {parseaddr(settings.smtp_from)[1].lower()} - {""}


def reply_text(body: str) -> str:
    """The new part of a reply: up to the quoted message ("On ... wrote:", "> " lines)."""
    out: list[str] = []
    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith(">"):
            continue
        if (stripped.startswith("On ") and stripped.endswith("wrote:")) or stripped in (
            "-----Original Message-----",
            "________________________________",
        ):
            break
        out.append(line)
    return "\n".join(out).strip() or body.strip()


async def thread_case(session: AsyncSession, mail: Mail) -> Case | None:
    """The live case a message answers: by the token in its subject, else by the Message-IDs
    it replies to."""
    pairs = threading.found(mail.subject)
    if pairs:
        k = await threading.key(session)
        for number, mac in pairs:
            row = await session.scalar(
                select(Case).where(Case.case_number == number, Case.deleted_at.is_(None))
            )
            if row is not None and threading.verify(k, row.id, mac):
                return row
    ids = list(dict.fromkeys([*mail.in_reply_to, *reversed(mail.references)]))
    if ids:
        return await session.scalar(
            select(Case)
            .join(CaseEmail, CaseEmail.case_id == Case.id)
            .where(CaseEmail.message_id.in_(ids), Case.deleted_at.is_(None))
            .order_by(CaseEmail.created_at.desc())
            .limit(1)
        )
    return None


async def _lock_message(session: AsyncSession, message_id: str) -> uuid.UUID | None:
    """Serialise deliveries of one Message-ID; the case it went to if it came before."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"inbound:{message_id}"},
    )
    return await session.scalar(select(CaseEmail.case_id).where(CaseEmail.message_id == message_id))


async def _record(session: AsyncSession, case_id: uuid.UUID, mail: Mail, **kw) -> CaseEmail:
    row = CaseEmail(
        id=new_id(),
        case_id=case_id,
        direction="inbound",
        message_id=mail.message_id,
        from_address=mail.from_address[:320],
        subject=mail.subject,
        created_at=clock.now(),
        **kw,
    )
    session.add(row)
    await session.flush()
    return row


async def _customer_replied(session: AsyncSession, case: Case) -> bool:
    """A closed case is reopened, a case waiting on the customer goes back to the open status;
    True when reopened."""
    closed, waiting = await policies.status_flags(session, case.status)
    if not (closed or waiting):
        return False
    status = await policies.default_open_status(session)
    if status is None or status == case.status:
        return False
    await cases.update(
        session, policies.SYSTEM, case.id, case_schemas.CaseUpdate(status=status), None
    )
    return closed


async def receive(
    session: AsyncSession, settings: Settings, mail: Mail
) -> tuple[int, schemas.InboundResult]:
    if mail.automatic is not None:
        return 200, schemas.InboundResult(action="ignored", reason=mail.automatic)
    if mail.from_address in own_addresses(settings):
        return 200, schemas.InboundResult(action="ignored", reason="own_address")
    earlier = await _lock_message(session, mail.message_id)
    if earlier is not None:
        row = await session.get(Case, earlier)
        return 200, schemas.InboundResult(
            action="duplicate", case=await present_case(session, row) if row else None
        )
    case = await thread_case(session, mail)
    if case is not None:
        body = reply_text(mail.text) or "(no text)"
        who = f"{mail.from_name} <{mail.from_address}>" if mail.from_name else mail.from_address
        comment = CaseComment(
            id=new_id(),
            case_id=case.id,
            body=f"Email from {who}: {mail.subject}\n\n{body}"[:COMMENT_CHARS],
            is_public=True,
            created_by=None,
            created_at=clock.now(),
        )
        session.add(comment)
        await session.flush()
        email = await _record(session, case.id, mail, comment_id=comment.id)
        saved, skipped = await store_attachments(
            session, settings, case.id, email.id, mail.attachments
        )
        reopened = await _customer_replied(session, case)
        await notify(
            session,
            case.owner_id,
            kind="case.customer_replied",
            title=f"The customer replied on case {case.case_number}",
            link=f"/api/v1/cases/{case.id}",
            object_type="cases",
            record_id=case.id,
        )
        case = await session.get(Case, case.id, populate_existing=True)
        return 200, schemas.InboundResult(
            action="threaded",
            case=await present_case(session, case),
            comment_id=comment.id,
            reopened=reopened,
            attachments=[schemas.Attachment.model_validate(a) for a in saved],
            skipped_attachments=skipped,
        )
    row, match = await _new_case(
        session,
        settings,
        origin=policies.EMAIL,
        subject=mail.subject or "(no subject)",
        description=mail.text,
        email=mail.from_address,
        name=mail.from_name,
    )
    email = await _record(session, row.id, mail)
    saved, skipped = await store_attachments(session, settings, row.id, email.id, mail.attachments)
    return 201, schemas.InboundResult(
        action="created",
        case=await present_case(session, row),
        contact_match=match,
        attachments=[schemas.Attachment.model_validate(a) for a in saved],
        skipped_attachments=skipped,
        suggested_solutions=await suggestions(session, PUBLIC, row.subject, row.description),
    )


# --- email sent from a case ----------------------------------------------------------------


async def link_outbound(
    session: AsyncSession, settings: Settings, case: Case, message: EmailMessage
) -> None:
    """An email about to be sent from the case: the token goes in its subject and its
    Message-ID into the case's thread, so the customer's reply comes back to the case."""
    ref = threading.token(await threading.key(session), case.case_number, case.id)
    message.subject = threading.tag(message.subject, ref)
    session.add(
        CaseEmail(
            id=new_id(),
            case_id=case.id,
            direction="outbound",
            message_id=f"<{message.id}@{smtp.domain_of(settings)}>",
            from_address=parseaddr(message.from_address)[1][:320] or None,
            subject=message.subject,
            email_message_id=message.id,
            created_at=clock.now(),
        )
    )
    await session.flush()


async def send_from_case(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    case_id: uuid.UUID,
    body: email_schemas.EmailSendFromRecord,
) -> EmailMessage:
    """An agent writes to the customer: to the case's contact (merged from it), else the
    supplied address. The first one is the case's first response."""
    case = await cases.read(session, principal, case_id)
    row = await session.get(Case, case_id)
    assert row is not None and case is not None
    to = body.to
    if to is None and row.contact_id is None:
        to = row.supplied_email
        if not to:
            raise invalid("to", "required", "The case has no contact or supplied email: give `to`")
    if row.contact_id is not None:
        message = await email_service.send(
            session,
            principal,
            settings,
            body.model_copy(update={"to": to}),
            "contact",
            row.contact_id,
        )
    else:
        message = await email_service.send(
            session, principal, settings, body.model_copy(update={"to": to}), None, None
        )
    await link_outbound(session, settings, row, message)
    if principal.kind == PrincipalKind.user:
        await case_service.responded(session, principal, case_id)
    return message


# --- web-to-case ----------------------------------------------------------------------------


def issue_form_token(k: bytes, settings: Settings) -> schemas.FormToken:
    now = clock.now()
    return schemas.FormToken(
        token=threading.form_token(k, now.timestamp()),
        issued_at=now,
        not_before=now + timedelta(seconds=settings.web_to_case_min_fill_seconds),
        expires_at=now + timedelta(seconds=settings.web_to_case_token_max_age_seconds),
    )


def check_form_token(k: bytes, settings: Settings, value: str) -> None:
    issued = threading.form_issued_at(k, value)
    if issued is None:
        raise invalid("form_token", "invalid", "The form token is not valid; reload the form")
    age = clock.now().timestamp() - issued
    if age < settings.web_to_case_min_fill_seconds:
        raise invalid("form_token", "too_fast", "The form was sent too fast; try again")
    if age > settings.web_to_case_token_max_age_seconds:
        raise invalid("form_token", "expired", "The form has expired; reload it")


async def _count(session: AsyncSession, key: str, limit: int) -> None:
    window = clock.now().replace(minute=0, second=0, microsecond=0)
    stmt = insert(WebToCaseCounter).values(key=key[:400], window_start=window, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key", "window_start"],
        set_={"count": WebToCaseCounter.count + 1},
    ).returning(WebToCaseCounter.count)
    used = await session.scalar(stmt)
    if used is not None and used > limit:
        retry = int((window + timedelta(hours=1) - clock.now()).total_seconds()) + 1
        raise TooManyRequests(
            "Too many submissions; try again later",
            headers={"Retry-After": str(retry)},
            extra={"retry_after": retry},
        )


async def rate_limit(session: AsyncSession, settings: Settings, ip: str, email: str) -> None:
    # Old windows go as new ones are counted (an indexed range delete, usually of nothing).
    await session.execute(
        delete(WebToCaseCounter).where(
            WebToCaseCounter.window_start < clock.now() - timedelta(hours=2)
        )
    )
    await _count(session, f"ip:{ip}", settings.web_to_case_per_ip_per_hour)
    await _count(session, f"email:{email.lower()}", settings.web_to_case_per_email_per_hour)


async def web_to_case(
    session: AsyncSession, settings: Settings, form: schemas.WebToCase
) -> tuple[Case, list[schemas.SuggestedSolution]]:
    extra: dict[str, Any] = {}
    if form.type:
        extra["type"] = form.type
    if form.priority:
        extra["priority"] = form.priority
    if form.phone:
        extra["supplied_phone"] = form.phone
    description = form.description or ""
    if form.company:
        description = f"{description}\n\nCompany: {form.company}".strip()
    row, _ = await _new_case(
        session,
        settings,
        origin=policies.WEB,
        subject=form.subject,
        description=description,
        email=str(form.email),
        name=form.name,
        extra=extra,
    )
    return row, await suggestions(session, PUBLIC, row.subject, row.description)


# --- solutions used on a case --------------------------------------------------------------


async def _solution_rows(session: AsyncSession, case_id: uuid.UUID, solution_id=None):
    stmt = (
        select(
            CaseSolution.id,
            CaseSolution.case_id,
            CaseSolution.solution_id,
            CaseSolution.created_by,
            CaseSolution.created_at,
            Solution.title,
            Solution.times_used,
        )
        .join(Solution, Solution.id == CaseSolution.solution_id)
        .where(CaseSolution.case_id == case_id)
        .order_by(CaseSolution.created_at, CaseSolution.id)
    )
    if solution_id is not None:
        stmt = stmt.where(CaseSolution.solution_id == solution_id)
    return [schemas.CaseSolution(**r) for r in (await session.execute(stmt)).mappings().all()]


async def list_solutions(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID
) -> list[schemas.CaseSolution]:
    if not await cases.visible_id(session, principal, case_id):
        raise NotFound("No such case")
    rows = await _solution_rows(session, case_id)
    visible = await _visible_solutions(session, principal, [r.solution_id for r in rows])
    return [r for r in rows if r.solution_id in visible]


async def _visible_solutions(
    session: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    if not ids:
        return set()
    found = await session.scalars(
        select(Solution.id).where(Solution.id.in_(ids), solutions.readable(principal))
    )
    return set(found.all())


async def link_solution(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, solution_id: uuid.UUID
) -> tuple[bool, schemas.CaseSolution]:
    """Link once; the solution's use count goes up only when the link is new. (created?, link)"""
    if not await cases.visible_id(session, principal, case_id):
        raise NotFound("No such case")
    if not await _visible_solutions(session, principal, [solution_id]):
        raise invalid("solution_id", "not_found", "No such solution")
    inserted = await session.scalar(
        insert(CaseSolution)
        .values(
            id=new_id(),
            case_id=case_id,
            solution_id=solution_id,
            created_by=principal.user_id,
            created_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["case_id", "solution_id"])
        .returning(CaseSolution.id)
    )
    if inserted is not None:
        await solution_service.record_use(session, solution_id, 1)
    (row,) = await _solution_rows(session, case_id, solution_id)
    return inserted is not None, row


async def unlink_solution(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, solution_id: uuid.UUID
) -> None:
    if not await cases.visible_id(session, principal, case_id):
        raise NotFound("No such case")
    gone = await session.scalar(
        delete(CaseSolution)
        .where(CaseSolution.case_id == case_id, CaseSolution.solution_id == solution_id)
        .returning(CaseSolution.id)
    )
    if gone is None:
        raise NotFound("This solution is not linked to the case")
    await solution_service.record_use(session, solution_id, -1)


__all__ = ["receive", "send_from_case", "web_to_case"]
