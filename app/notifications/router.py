"""The signed-in user's notifications. Only ever the caller's own: another user's notification
is a 404 on every path."""

import uuid
from typing import Annotated

from fastapi import Query
from sqlalchemy import func, select, update

from app.auth.principal import Principal, require
from app.kit import clock, filtering
from app.kit.db import Session
from app.kit.errors import Forbidden, NotFound, problem_responses
from app.kit.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from app.kit.routes import Routes
from app.kit.routing import Router
from app.models import Notification
from app.notifications import schemas

router = Router(prefix="/api/v1/notifications", tags=["notifications"])
Reader = Annotated[Principal, require("notifications:read")]
Writer = Annotated[Principal, require("notifications:write")]
# One notification of the caller's (``/{notification_id}...``).
one = Routes(
    router, response_model=schemas.Notification, responses=problem_responses(401, 403, 404, 422)
)


def _user(principal: Principal) -> uuid.UUID:
    if principal.user_id is None:
        raise Forbidden(
            "Notifications belong to users; this token acts for no user", code="user_required"
        )
    return principal.user_id


def _found(row: Notification | None) -> schemas.Notification:
    if row is None:
        raise NotFound("No such notification")
    return schemas.Notification.model_validate(row)


@router.get(
    "",
    name="list",
    summary="List my notifications",
    response_model=Page[schemas.Notification],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_notifications(
    session: Session,
    principal: Reader,
    unread: Annotated[bool | None, Query(description="true: only unread ones")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query()] = None,
):
    """Newest first."""
    stmt = select(Notification).where(Notification.user_id == _user(principal))
    if unread is True:
        stmt = stmt.where(Notification.read_at.is_(None))
    elif unread is False:
        stmt = stmt.where(Notification.read_at.is_not(None))
    if cursor:
        values = decode_cursor(cursor)
        after = filtering.coerce(Notification.id, "cursor", str(values[0] if values else ""))
        stmt = stmt.where(Notification.id < after)
    rows = list(await session.scalars(stmt.order_by(Notification.id.desc()).limit(limit + 1)))
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        nxt = encode_cursor([str(rows[-1].id)])
    return Page[schemas.Notification](
        data=[schemas.Notification.model_validate(r) for r in rows], next_cursor=nxt
    )


@router.get(
    "/unread-count",
    name="unread_count",
    summary="Count my unread notifications",
    response_model=schemas.UnreadCount,
    responses=problem_responses(401, 403),
)
async def unread_count(session: Session, principal: Reader):
    count = await session.scalar(
        select(func.count()).where(
            Notification.user_id == _user(principal), Notification.read_at.is_(None)
        )
    )
    return schemas.UnreadCount(count=count or 0)


@router.post(
    "/read-all",
    name="read_all",
    summary="Mark all my notifications read",
    response_model=schemas.ReadAll,
    responses=problem_responses(401, 403),
)
async def read_all(session: Session, principal: Writer):
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == _user(principal), Notification.read_at.is_(None))
        .values(read_at=clock.now())
    )
    return schemas.ReadAll(updated=result.rowcount or 0)


@one.get("/{notification_id}", name="get", summary="Get one of my notifications")
async def get_notification(session: Session, principal: Reader, notification_id: uuid.UUID):
    row = await session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == _user(principal)
        )
    )
    return _found(row)


@one.post("/{notification_id}/read", name="mark_read", summary="Mark one of my notifications read")
async def mark_read(session: Session, principal: Writer, notification_id: uuid.UUID):
    """Marking one already read keeps the time it was first read."""
    row = await session.scalar(
        update(Notification)
        .where(Notification.id == notification_id, Notification.user_id == _user(principal))
        .values(read_at=func.coalesce(Notification.read_at, clock.now()))
        .returning(Notification)
    )
    return _found(row)
