"""Emails: send from a record or to an address, mass email, and the log with tracking."""

import uuid
from typing import Annotated

from fastapi import Query, Request, Response
from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import made_by, sees_all
from app.auth.principal import Principal, require
from app.email import merge, repository, schemas, service
from app.email.repository import records as templates
from app.kit import filtering
from app.kit.db import Session
from app.kit.errors import NotFound, problem_responses
from app.kit.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from app.kit.resource import build_router
from app.kit.routing import Router
from app.models import EmailClick, EmailMessage, MassEmail

router = Router(prefix="/api/v1", tags=["emails"])
mass_router = Router(prefix="/api/v1/mass-emails", tags=["mass_emails"])

SEND_RESPONSES = problem_responses(400, 401, 403, 404, 409, 422)


def readable_messages(principal: Principal) -> ColumnElement[bool]:
    """Emails the principal may read: those it sent, and those about a live record it may read
    (record access decides, as for the record itself)."""
    if sees_all(principal):
        return true()
    clauses = [made_by(EmailMessage.sent_by, principal)]
    for kind, records in merge.RECORDS.items():
        m = records.m
        clauses.append(
            and_(
                EmailMessage.related_type == kind,
                exists().where(m.id == EmailMessage.related_id, records.readable(principal)),
            )
        )
    return or_(*clauses)


def readable_mass_emails(principal: Principal) -> ColumnElement[bool]:
    return true() if sees_all(principal) else made_by(MassEmail.created_by, principal)


async def _one(session: AsyncSession, principal: Principal, message_id: uuid.UUID):
    msg = await session.scalar(
        select(EmailMessage).where(EmailMessage.id == message_id, readable_messages(principal))
    )
    if msg is None:
        raise NotFound("No such email")
    return msg


def _accepted(message: schemas.Email) -> Response:
    return Response(
        message.model_dump_json(),
        status_code=202,
        media_type="application/json",
        headers={"Location": f"/api/v1/emails/{message.id}"},
    )


@router.post(
    "/emails",
    name="send",
    summary="Send an email",
    status_code=202,
    response_model=schemas.Email,
    responses=SEND_RESPONSES,
)
async def send(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("emails:send")],
    body: schemas.EmailSend,
):
    """Queue one email from a template (`template_id`) or a subject and body, about a record
    (`related_type`, `related_id`: it merges from it, goes to its email address unless `to` is
    given, and is logged in its activity history once sent) or to an address. 202: it is sent
    by a background job after this request commits, retried while the mail server is down;
    follow it at `GET /api/v1/emails/{id}`."""
    msg = await service.send(
        session, principal, request.app.state.settings, body, body.related_type, body.related_id
    )
    return _accepted((await service.present_messages(session, [msg]))[0])


def _send_from(kind: str, plural: str):
    async def send_from_record(
        request: Request,
        session: Session,
        principal: Annotated[Principal, require("emails:send")],
        record_id: uuid.UUID,
        body: schemas.EmailSendFromRecord,
    ):
        msg = await service.send(
            session, principal, request.app.state.settings, body, kind, record_id
        )
        return _accepted((await service.present_messages(session, [msg]))[0])

    send_from_record.__doc__ = (
        f"Queue an email to the {kind} (its email address unless `to` is given), from a "
        f"template or a subject and body merged with the {kind}'s fields. The {kind} must be "
        f"one you can read (404 otherwise); a {kind} who opted out of email is a 422 "
        "`opted_out`. 202: sent by a background job after this request commits and logged "
        f"as a completed task (subtype Email) on the {kind} once the mail server took it."
    )
    router.add_api_route(
        f"/{plural}/{{record_id}}/emails",
        send_from_record,
        methods=["POST"],
        name=f"send_to_{kind}",
        summary=f"Send an email to a {kind}",
        status_code=202,
        response_model=schemas.Email,
        responses=SEND_RESPONSES,
    )


_send_from("lead", "leads")
_send_from("contact", "contacts")

EMAIL_FILTERS = {
    "status": EmailMessage.status,
    "related_type": EmailMessage.related_type,
    "related_id": EmailMessage.related_id,
    "mass_email_id": EmailMessage.mass_email_id,
    "template_id": EmailMessage.template_id,
    "to_address": EmailMessage.to_address,
    "sent_by": EmailMessage.sent_by,
    "created_at": EmailMessage.created_at,
    "sent_at": EmailMessage.sent_at,
}


def _after(cursor: str | None):
    if not cursor:
        return None
    values = decode_cursor(cursor)
    return filtering.coerce(EmailMessage.id, "cursor", str(values[0] if values else ""))


@router.get(
    "/emails",
    name="list",
    summary="List emails",
    response_model=Page[schemas.Email],
    responses=problem_responses(400, 401, 403, 422),
    openapi_extra={
        "parameters": [
            {
                "name": f,
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": f"Filter on {f}; operators as `{f}[op]=value`",
            }
            for f in EMAIL_FILTERS
        ]
    },
)
async def list_emails(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("emails:read")],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query()] = None,
):
    """Newest first: emails you sent and emails about records you can read. Filter as
    `?related_type=lead&related_id=...`, `?status=failed`, `?mass_email_id=...`."""
    stmt = select(EmailMessage).where(readable_messages(principal))
    where = filtering.build(
        list(request.query_params.multi_items()), EMAIL_FILTERS, {"limit", "cursor"}
    )
    if where is not None:
        stmt = stmt.where(where)
    after = _after(cursor)
    if after is not None:
        stmt = stmt.where(EmailMessage.id < after)
    rows = list(await session.scalars(stmt.order_by(EmailMessage.id.desc()).limit(limit + 1)))
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        nxt = encode_cursor([str(rows[-1].id)])
    return Page[schemas.Email](data=await service.present_messages(session, rows), next_cursor=nxt)


@router.get(
    "/emails/{message_id}",
    name="get",
    summary="Get an email with its tracking",
    response_model=schemas.Email,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_email(
    session: Session,
    principal: Annotated[Principal, require("emails:read")],
    message_id: uuid.UUID,
):
    """Its status (queued, sent, failed and why), content as rendered, and tracking: opens
    (first, last, count) and clicks per link."""
    return (await service.present_messages(session, [await _one(session, principal, message_id)]))[
        0
    ]


# --- mass email ------------------------------------------------------------------------------


async def _summary(session: AsyncSession, mass_id: uuid.UUID) -> schemas.MassEmailSummary:
    m = EmailMessage
    row = (
        await session.execute(
            select(
                func.count().filter(m.status == "queued"),
                func.count().filter(m.status == "sent"),
                func.count().filter(m.status == "failed"),
                func.count().filter(m.first_opened_at.is_not(None)),
                func.coalesce(func.sum(m.open_count), 0),
                func.count().filter(m.click_count > 0),
                func.coalesce(func.sum(m.click_count), 0),
            ).where(m.mass_email_id == mass_id)
        )
    ).one()
    links = await session.execute(
        select(EmailClick.url, func.sum(EmailClick.count), func.count())
        .join(m, m.id == EmailClick.message_id)
        .where(m.mass_email_id == mass_id)
        .group_by(EmailClick.url)
        .order_by(func.sum(EmailClick.count).desc(), EmailClick.url)
        .limit(50)
    )
    return schemas.MassEmailSummary(
        queued=row[0],
        sent=row[1],
        failed=row[2],
        opened=row[3],
        opens=row[4],
        clicked=row[5],
        clicks=row[6],
        links=[schemas.LinkSummary(url=u, clicks=c, recipients=r) for u, c, r in links.all()],
    )


async def _mass_out(session: AsyncSession, mass: MassEmail, summary: bool) -> schemas.MassEmail:
    out = schemas.MassEmail.model_validate(mass)
    if summary:
        out.summary = await _summary(session, mass.id)
    return out


@mass_router.post(
    "",
    name="create",
    summary="Send a mass email",
    status_code=202,
    response_model=schemas.MassEmail,
    responses=problem_responses(400, 401, 403, 409, 422),
)
async def create_mass_email(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("emails:send")],
    body: schemas.MassEmailCreate,
):
    """One email per recipient, each merged with its own lead or contact, sent by background
    jobs after this request commits. The answer counts the emails queued and the recipients
    skipped (opted out of email, or no address); follow delivery, opens and clicks at
    `GET /api/v1/mass-emails/{id}`."""
    mass = await service.mass_send(session, principal, request.app.state.settings, body)
    out = await _mass_out(session, mass, summary=True)
    return Response(
        out.model_dump_json(),
        status_code=202,
        media_type="application/json",
        headers={"Location": f"/api/v1/mass-emails/{mass.id}"},
    )


@mass_router.get(
    "",
    name="list",
    summary="List mass emails",
    response_model=Page[schemas.MassEmail],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_mass_emails(
    session: Session,
    principal: Annotated[Principal, require("emails:read")],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query()] = None,
):
    """Newest first: the mass emails you sent (all of them for administrators)."""
    stmt = select(MassEmail).where(readable_mass_emails(principal))
    if cursor:
        values = decode_cursor(cursor)
        after = filtering.coerce(MassEmail.id, "cursor", str(values[0] if values else ""))
        stmt = stmt.where(MassEmail.id < after)
    rows = list(await session.scalars(stmt.order_by(MassEmail.id.desc()).limit(limit + 1)))
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        nxt = encode_cursor([str(rows[-1].id)])
    return Page[schemas.MassEmail](
        data=[await _mass_out(session, r, summary=False) for r in rows], next_cursor=nxt
    )


@mass_router.get(
    "/{mass_email_id}",
    name="get",
    summary="Get a mass email with its delivery and tracking summary",
    response_model=schemas.MassEmail,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_mass_email(
    session: Session,
    principal: Annotated[Principal, require("emails:read")],
    mass_email_id: uuid.UUID,
):
    """Emails queued, sent and failed; recipients who opened (and total opens), who clicked
    (and total clicks), and the most clicked links. Each recipient's email is in
    `GET /api/v1/emails?mass_email_id=...`."""
    mass = await session.scalar(
        select(MassEmail).where(MassEmail.id == mass_email_id, readable_mass_emails(principal))
    )
    if mass is None:
        raise NotFound("No such mass email")
    return await _mass_out(session, mass, summary=True)


# --- templates ----------------------------------------------------------------------------

templates_router = build_router(templates)


@templates_router.post(
    "/{record_id}/preview",
    name="preview",
    summary="Render an email template against a record",
    response_model=schemas.RenderedEmail,
    responses=problem_responses(401, 403, 404, 422),
)
async def preview(
    session: Session,
    principal: Annotated[Principal, require("email_templates:read")],
    record_id: uuid.UUID,
    body: schemas.TemplatePreview,
):
    """What the template gives for a lead, contact, account or opportunity you can read (404
    otherwise), or for no record (its merge fields empty). Nothing is sent or stored."""
    template = await templates.read(session, principal, record_id)
    parts = {p: template[p] for p in repository.PARTS}
    row = None
    if body.related_type is not None and body.related_id is not None:
        row = await merge.RECORDS[body.related_type].read(session, principal, body.related_id)
    rendered = await merge.render_one(session, principal, parts, body.related_type, row)
    return schemas.RenderedEmail(
        subject=rendered.subject, html_body=rendered.html_body, text_body=rendered.text_body
    )
