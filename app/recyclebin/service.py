"""The recycle bin: what a caller can see in it, and purging what has been there too long.

The data work is the resource machinery's (``app/kit/recycle.py``); this module lists across
objects and runs the retention purge for the API, the CLI and the periodic task.
"""

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta

from sqlalchemy import Text, cast, func, literal, null, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.access import read_clause
from app.auth.principal import Principal
from app.config import get_settings
from app.kit import clock, recycle
from app.kit.errors import BadRequest, InsufficientScope, NotFound
from app.kit.pagination import PageParams, decode_cursor, encode_cursor
from app.kit.resource import RECORDS, REGISTRY, Resource


def _title(model):
    """The column a person would recognise the record by (null for objects without one)."""
    if hasattr(model, "last_name"):
        return func.concat_ws(" ", model.first_name, model.last_name)
    for name in ("name", "subject", "title"):
        if hasattr(model, name):
            return cast(getattr(model, name), Text)
    return cast(null(), Text)


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    values = decode_cursor(cursor)
    try:
        return datetime.fromisoformat(str(values[0])), uuid.UUID(str(values[1]))
    except (ValueError, IndexError, TypeError) as exc:
        raise BadRequest("The cursor is not valid", code="invalid_cursor") from exc


async def list_deleted(
    session: AsyncSession,
    principal: Principal,
    paging: PageParams,
    *,
    object_type: str | None = None,
    mine: bool = False,
) -> tuple[list, str | None]:
    """Records in the recycle bin that the caller may read, newest deletion first. A record
    deleted with another one (an account's contacts) is not listed: it comes back with it."""
    after = _after(paging.cursor)
    parts = []
    for resource in REGISTRY.values():
        if object_type is not None and resource.object_type != object_type:
            continue
        if f"{resource.scope}:read" not in principal.scopes:
            continue
        m = resource.model
        part = select(
            literal(resource.object_type).label("object"),
            m.id.label("id"),
            _title(m).label("name"),
            m.deleted_at.label("deleted_at"),
            m.deleted_by.label("deleted_by"),
        ).where(
            m.deleted_at.is_not(None),
            m.deleted_with.is_(None),
            read_clause(m, principal, resource.sharing),
        )
        if mine:
            part = part.where(m.deleted_by == principal.user_id)
        if after is not None:
            part = part.where(tuple_(m.deleted_at, m.id) < tuple_(*after))
        # Each branch walks its table's recycle-bin index and stops after a page.
        parts.append(part.order_by(m.deleted_at.desc(), m.id.desc()).limit(paging.limit + 1))
    if not parts:
        return [], None
    bin_ = union_all(*parts).subquery("recycle_bin")
    stmt = select(bin_).order_by(bin_.c.deleted_at.desc(), bin_.c.id.desc()).limit(paging.limit + 1)
    rows = list((await session.execute(stmt)).mappings().all())
    if len(rows) > paging.limit:
        rows = rows[: paging.limit]
        last = rows[-1]
        return rows, encode_cursor([last["deleted_at"].isoformat(), str(last["id"])])
    return rows, None


def resource_for(object_type: str) -> Resource:
    for resource in REGISTRY.values():
        if resource.object_type == object_type:
            return resource
    raise NotFound(f"No such object: {object_type}")


async def purge_one(
    session: AsyncSession,
    principal: Principal,
    object_type: str,
    record_id: uuid.UUID,
    *,
    batch_size: int,
) -> dict[str, int]:
    resource = resource_for(object_type)
    if f"{resource.scope}:write" not in principal.scopes:
        raise InsufficientScope(f"{resource.scope}:write")
    return await RECORDS[resource.name].purge(session, principal, record_id, limit=batch_size)


async def purge_expired(
    target: AsyncSession | AsyncEngine | Callable[[], AbstractAsyncContextManager[AsyncSession]],
    now: datetime | None = None,
    retention: timedelta | None = None,
    *,
    batch_size: int | None = None,
    by: uuid.UUID | None = None,
) -> dict[str, int]:
    """Hard-delete every record that has been in the recycle bin longer than ``retention``
    (default: the ``recycle_bin_retention_days`` setting), with its field history, children
    before parents, ``batch_size`` rows per statement; a ``purge`` entry per record goes to the
    change feed. With an engine, or a factory of sessions committed when their block exits
    (``jobs.session``: the periodic job), each batch is its own transaction (locks held briefly);
    with a session everything joins the caller's transaction.
    Returns the number purged per object type."""
    now = now or clock.now()
    if retention is None:
        retention = timedelta(days=get_settings().recycle_bin_retention_days)
    limit = batch_size or get_settings().recycle_bin_purge_batch_size
    cutoff = now - retention
    counts: dict[str, int] = {}
    for table in recycle.record_tables():
        expired = table.c.deleted_at < cutoff
        while True:
            if isinstance(target, AsyncEngine):
                async with target.begin() as conn:
                    n = await recycle.purge_batch(conn, table, expired, now=now, by=by, limit=limit)
            elif callable(target):
                async with target() as s:
                    n = await recycle.purge_batch(s, table, expired, now=now, by=by, limit=limit)
            else:
                n = await recycle.purge_batch(target, table, expired, now=now, by=by, limit=limit)
            if n:
                counts[table.name] = counts.get(table.name, 0) + n
            if n < limit:
                break
    return counts


__all__ = ["list_deleted", "purge_expired", "purge_one", "resource_for"]
