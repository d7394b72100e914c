"""The change feed: every create, update, delete, restore and purge, in a stable order, for
replication and sync. Each principal sees only changes of records it may read, of object types
whose ``<object>:read`` scope it holds; a purged record no longer exists, so its ``purge`` entry
is checked against the owner it had when it was purged."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import and_, false, func, or_, select, text

from app.access import owner_read_clause, read_clause
from app.auth.principal import CurrentPrincipal
from app.kit.db import Session
from app.kit.errors import BadRequest, problem_responses
from app.kit.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from app.kit.resource import REGISTRY
from app.kit.routing import Router
from app.models.history import Change

router = Router(prefix="/api/v1/changes", tags=["changes"])

# Changes of transactions still running are held back, so the order never changes under a reader:
# every transaction older than the oldest one running has finished.
_SETTLED = or_(
    Change.xid < text("(pg_snapshot_xmin(pg_current_snapshot())::text)::bigint"),
    Change.xid == text("(pg_current_xact_id_if_assigned()::text)::bigint"),
)


class ChangeEntry(BaseModel):
    object_type: str
    record_id: uuid.UUID
    op: str
    changed_by: uuid.UUID | None
    changed_at: datetime


@router.get(
    "",
    name="list",
    summary="Read the change feed",
    response_model=Page[ChangeEntry],
    responses=problem_responses(400, 401, 422),
)
async def list_changes(
    session: Session,
    principal: CurrentPrincipal,
    since: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
):
    """Changes after `since`, oldest first. Keep the last `next_cursor` and poll with it; when a
    page is empty, `next_cursor` is the cursor you sent, so polling can continue from it."""
    visible = []
    for resource in REGISTRY.values():
        if f"{resource.scope}:read" not in principal.scopes:
            continue
        m = resource.model
        ids = select(m.id).where(read_clause(m, principal, resource.sharing))
        purged = (Change.op == "purge") & owner_read_clause(
            resource.object_type, Change.owner_id, principal, resource.sharing
        )
        visible.append(
            and_(
                Change.object_type == resource.object_type,
                or_(Change.record_id.in_(ids), purged),
            )
        )
    stmt = select(Change).where(_SETTLED, or_(*visible) if visible else false())
    if since:
        values = decode_cursor(since)
        try:
            xid, seq = int(values[0]), int(values[1])
        except (ValueError, IndexError, TypeError) as exc:
            raise BadRequest("The cursor is not valid", code="invalid_cursor") from exc
        stmt = stmt.where(func.row(Change.xid, Change.seq) > func.row(xid, seq))
    stmt = stmt.order_by(Change.xid, Change.seq).limit(limit)
    rows = list((await session.scalars(stmt)).all())
    cursor = encode_cursor([rows[-1].xid, rows[-1].seq]) if rows else since
    return {
        "data": [ChangeEntry.model_validate(r, from_attributes=True) for r in rows],
        "next_cursor": cursor,
    }


__all__ = ["router"]
