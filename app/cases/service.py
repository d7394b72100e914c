"""Case workflows: creation (the one function every creation path calls), comments, accepting
a case from a queue, closing and reopening."""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import is_partner
from app.auth.principal import Principal, PrincipalKind
from app.cases import escalation, policies, schemas
from app.cases.repository import cases
from app.kit import clock, filtering
from app.kit.errors import Forbidden, NotFound
from app.kit.ids import new_id
from app.kit.pagination import decode_cursor, encode_cursor
from app.kit.resource import invalid
from app.models import Case, CaseComment, Queue


async def create_case(
    session: AsyncSession,
    principal: Principal,
    data: schemas.CaseCreate | dict[str, Any],
    origin: str | None = None,
) -> Case:
    """Create a case as ``principal`` (with ``origin`` when the path decides it: email, web,
    portal): picklist checks, case number, assignment rule (routing, auto-response) and the
    escalation clock, all in the caller's transaction. ``POST /api/v1/cases`` comes here too."""
    given = data.model_dump(exclude_unset=True) if isinstance(data, schemas.CaseCreate) else data
    if origin is not None:
        given = {**given, "origin": origin}
    return await cases.create(session, principal, schemas.CaseCreate.model_validate(given))


def _internal(principal: Principal) -> bool:
    return not is_partner(principal) and principal.kind != PrincipalKind.portal_user


async def _locked(session: AsyncSession, case_id: uuid.UUID) -> Case:
    return await session.scalar(
        select(Case)
        .where(Case.id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def responded(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> None:
    """An agent answered the customer (a public comment; later an email): the first one sets
    ``first_response_at`` and stops the first-response timer."""
    case = await _locked(session, case_id)
    if case is None or case.first_response_at is not None:
        return
    now = clock.now()
    values: dict[str, Any] = {"first_response_at": now}
    await escalation.on_change(session, case, values, now)
    await cases.change(session, principal, case, values)


async def add_comment(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, data: schemas.CommentCreate
) -> CaseComment:
    """Anyone who can read the case may comment on it; partners and customers only publicly."""
    if not await cases.visible_id(session, principal, case_id):
        raise NotFound("No such case")
    if not data.is_public and not _internal(principal):
        raise invalid("is_public", "internal_comment", "Partners may only post public comments")
    comment = CaseComment(
        id=new_id(),
        case_id=case_id,
        body=data.body,
        is_public=data.is_public,
        created_by=principal.user_id,
        created_at=clock.now(),
    )
    session.add(comment)
    await session.flush()
    if data.is_public and principal.kind == PrincipalKind.user:
        await responded(session, principal, case_id)
    return comment


async def list_comments(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[CaseComment], str | None]:
    """Oldest first. Internal comments are left out for partners and customers."""
    if not await cases.visible_id(session, principal, case_id):
        raise NotFound("No such case")
    stmt = select(CaseComment).where(CaseComment.case_id == case_id)
    if not _internal(principal):
        stmt = stmt.where(CaseComment.is_public.is_(True))
    if cursor:
        after = filtering.coerce(CaseComment.id, "cursor", str(decode_cursor(cursor)[0]))
        stmt = stmt.where(CaseComment.id > after)
    rows = list((await session.scalars(stmt.order_by(CaseComment.id).limit(limit + 1))).all())
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor([str(rows[-1].id)])
    return rows, None


async def accept(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> Case:
    """A member of the case's queue takes it (Salesforce's Accept); concurrent accepts of one
    case: the first wins, the others get a 409."""
    if principal.kind != PrincipalKind.user or principal.user_id is None:
        raise Forbidden("Only agents accept cases", code="user_required")
    case = await session.scalar(
        select(Case)
        .where(Case.id == case_id, cases.readable(principal))
        .with_for_update(of=Case)
        .execution_options(populate_existing=True)
    )
    if case is None:
        raise NotFound("No such case")
    policies.may_accept(case)
    members = await session.scalar(select(Queue.member_ids).where(Queue.id == case.queue_id))
    if str(principal.user_id) not in (members or []) and not principal.is_admin:
        raise Forbidden("Only members of the case's queue may accept it", code="not_queue_member")
    return await cases.change(
        session, principal, case, {"owner_id": principal.user_id, "queue_id": None}
    )


async def close(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, data: schemas.CaseClose
) -> Case:
    case = await cases.lock_for_write(session, principal, case_id)
    policies.may_close(case)
    closed = await policies.closed_statuses(session)
    status = data.status or (closed[0] if closed else None)
    if status not in closed:
        raise invalid(
            "status", "not_closed_status", f"Use a closed case status: {', '.join(closed)}"
        )
    if data.comment:
        await add_comment(
            session, principal, case_id, schemas.CommentCreate(body=data.comment, is_public=True)
        )
    return await cases.update(session, principal, case_id, schemas.CaseUpdate(status=status), None)


async def reopen(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, data: schemas.CaseReopen
) -> Case:
    case = await cases.lock_for_write(session, principal, case_id)
    policies.may_reopen(case)
    status = data.status or await policies.default_open_status(session)
    is_closed, _ = await policies.status_flags(session, status)
    if status is None or is_closed:
        raise invalid("status", "not_open_status", "Use an open case status")
    return await cases.update(session, principal, case_id, schemas.CaseUpdate(status=status), None)
