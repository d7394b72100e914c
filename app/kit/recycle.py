"""The recycle bin machinery: records deleted and restored with their parent, and purged for good.

A resource declares its children (``Resource.children``: the child resource by name and the
column holding the parent's id), so objects stay decoupled. Deleting a record marks, recursively,
every live child with the same ``deleted_at`` and ``deleted_with`` = the deleted record's id;
restoring that record brings back exactly the rows marked with its id, not children deleted on
their own before. Like Salesforce, children go with the parent whatever the deleting user's
access to them, and a child deleted with its parent cannot be restored on its own (409).

Purging hard-deletes recycle-bin rows with their field history, in batches, children before
parents, and writes a ``purge`` entry to the change feed. A row that something still references
(a ``RESTRICT`` foreign key, or another record that a ``CASCADE`` would silently take along) is
left in the bin until that reference is gone.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Table,
    delete,
    exists,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import UUID

from app.kit.db import Base
from app.kit.errors import Conflict, InvalidStateTransition
from app.models.history import Change, FieldHistory

if TYPE_CHECKING:  # the machinery passes its registry in; no import cycle
    from app.kit.resource import Resource

Registry = dict[str, "Resource"]


@dataclass(frozen=True)
class Cascade:
    """A child object deleted and restored with its parent: records of ``resource`` (a registered
    resource name) whose ``column`` holds the parent's id. For a polymorphic reference (a task's
    ``what_id``), only the children whose ``type_column`` equals ``type_value``."""

    resource: str
    column: str
    type_column: str | None = None
    type_value: str | None = None

    def matches(self, model, parent_ids) -> ColumnElement[bool]:
        cond = getattr(model, self.column).in_(parent_ids)
        if self.type_column is not None:
            cond = cond & (getattr(model, self.type_column) == self.type_value)
        return cond

    def parent_of(self, row: Any) -> uuid.UUID | None:
        if self.type_column is not None and getattr(row, self.type_column) != self.type_value:
            return None
        return getattr(row, self.column)


async def _log(session, object_type: str, ids: list[uuid.UUID], op: str, by, now: datetime) -> None:
    """Field history and change feed entries for records changed by one set-based statement,
    exactly like a direct delete or restore of each (two multi-row inserts)."""
    await session.execute(
        insert(FieldHistory),
        [
            {
                "object_type": object_type,
                "record_id": i,
                "field": op + "d",
                "old_value": None,
                "new_value": None,
                "changed_by": by,
                "changed_at": now,
            }
            for i in ids
        ],
    )
    await session.execute(
        insert(Change),
        [
            {
                "object_type": object_type,
                "record_id": i,
                "op": op,
                "changed_by": by,
                "changed_at": now,
            }
            for i in ids
        ],
    )


async def delete_children(
    session, principal, registry: Registry, resource: "Resource", root: Any, now: datetime
) -> dict[str, int]:
    """Mark every live descendant of ``root`` (already marked deleted) as deleted with it."""
    counts: dict[str, int] = {}
    pending = [resource]
    while pending:
        parent = pending.pop()
        p = parent.model
        in_deletion = select(p.id).where(or_(p.id == root.id, p.deleted_with == root.id))
        for cascade in parent.children:
            child = registry[cascade.resource]
            m = child.model
            stmt = (
                update(m)
                .where(cascade.matches(m, in_deletion), m.deleted_at.is_(None))
                .values(
                    deleted_at=now,
                    deleted_by=principal.user_id,
                    deleted_with=root.id,
                    version=m.version + 1,
                )
                .returning(m.id)
                .execution_options(synchronize_session="fetch")
            )
            ids = list((await session.execute(stmt)).scalars().all())
            if ids:
                await _log(session, child.object_type, ids, "delete", principal.user_id, now)
                counts[child.object_type] = counts.get(child.object_type, 0) + len(ids)
                # Its own children may now have parents in this deletion: visit it (again).
                pending.append(child)
    return counts


def parents_of(registry: Registry, resource: "Resource"):
    """(parent resource, cascade) for every declaration naming ``resource`` as a child."""
    for parent in registry.values():
        for cascade in parent.children:
            if cascade.resource == resource.name:
                yield parent, cascade


def descendants(registry: Registry, resource: "Resource") -> list["Resource"]:
    seen: dict[str, Resource] = {}
    pending = [resource]
    while pending:
        for cascade in pending.pop().children:
            if cascade.resource not in seen:
                seen[cascade.resource] = registry[cascade.resource]
                pending.append(seen[cascade.resource])
    seen.pop(resource.name, None)
    return list(seen.values())


async def check_restorable(session, registry: Registry, resource: "Resource", row: Any) -> None:
    """A record cannot come back while a parent it cascades from is in the recycle bin: one
    deleted with its parent comes back with it (as in Salesforce), and one deleted on its own
    waits until the parent is restored."""
    for parent, cascade in parents_of(registry, resource):
        parent_id = cascade.parent_of(row)
        if parent_id is None:
            continue
        p = parent.model
        if await session.scalar(select(p.deleted_at.is_not(None)).where(p.id == parent_id)):
            what = f"{parent.label} {parent_id}"
            if row.deleted_with is not None:
                detail = f"This {resource.label} was deleted with its {what}: restore that instead"
            else:
                detail = f"Restore the {what} first: this {resource.label} belongs to it"
            raise InvalidStateTransition(
                detail, extra={"parent_object": parent.object_type, "parent_id": str(parent_id)}
            )


async def restore_children(
    session, principal, registry: Registry, resource: "Resource", root: Any, now: datetime
) -> dict[str, int]:
    """Bring back exactly the records deleted with ``root``."""
    counts: dict[str, int] = {}
    for child in descendants(registry, resource):
        m = child.model
        stmt = (
            update(m)
            .where(m.deleted_with == root.id)
            .values(deleted_at=None, deleted_by=None, deleted_with=None, version=m.version + 1)
            .returning(m.id)
            .execution_options(synchronize_session="fetch")
        )
        ids = list((await session.execute(stmt)).scalars().all())
        if ids:
            await _log(session, child.object_type, ids, "restore", principal.user_id, now)
            counts[child.object_type] = len(ids)
    return counts


# --- purging -----------------------------------------------------------------------------


def record_tables() -> list[Table]:
    """Every table with a recycle bin, children before parents (the order deletes must take)."""
    return [t for t in reversed(Base.metadata.sorted_tables) if "deleted_with" in t.c]


def _still_referenced(table: Table) -> list[ColumnElement[bool]]:
    """Conditions that hold while nothing references a row in a way a hard delete would fail on
    (RESTRICT / NO ACTION) or silently take another record along with it (CASCADE)."""
    clauses = []
    for other in Base.metadata.tables.values():
        for fk in other.foreign_keys:
            if fk.column.table is not table:
                continue
            action = (fk.ondelete or "NO ACTION").upper()
            if action in ("SET NULL", "SET DEFAULT"):
                continue
            if action == "CASCADE" and "deleted_at" not in other.c:
                continue  # a part of the record (stage history): goes with it
            ref = other.alias()
            clauses.append(
                exists().where(ref.c[fk.parent.name] == table.c[fk.column.name]).correlate(table)
            )
    return clauses


async def purge_batch(
    conn,
    table: Table,
    where: ColumnElement[bool],
    *,
    now: datetime,
    by: uuid.UUID | None,
    limit: int,
) -> int:
    """Hard-delete up to ``limit`` recycle-bin rows of ``table`` matching ``where``, with their
    field history, and write a ``purge`` entry per row to the change feed: one statement.
    ``conn`` is an AsyncConnection or AsyncSession."""
    blocked = _still_referenced(table)
    doomed = (
        select(table.c.id)
        .where(table.c.deleted_at.is_not(None), where, *[~b for b in blocked])
        .order_by(table.c.deleted_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("doomed")
    )
    owner = table.c.owner_id if "owner_id" in table.c else null()
    gone = (
        table.delete()
        .where(table.c.id.in_(select(doomed.c.id)))
        .returning(table.c.id, owner.label("owner_id"))
        .cte("gone")
    )
    history = (
        delete(FieldHistory.__table__)
        .where(
            FieldHistory.__table__.c.object_type == table.name,
            FieldHistory.__table__.c.record_id.in_(select(gone.c.id)),
        )
        .cte("history")
    )
    changes = Change.__table__
    stmt = (
        insert(changes)
        .from_select(
            ["object_type", "record_id", "op", "changed_by", "changed_at", "owner_id"],
            select(
                literal(table.name),
                gone.c.id,
                literal("purge"),
                literal(by, UUID(as_uuid=True)),
                literal(now, DateTime(timezone=True)),
                gone.c.owner_id,
            ),
        )
        .returning(changes.c.seq)
        .add_cte(doomed, gone, history)
    )
    return len((await conn.execute(stmt)).all())


async def purge_deletion(
    session, registry: Registry, resource: "Resource", root: Any, *, now: datetime, by, limit: int
) -> dict[str, int]:
    """Purge ``root`` now with every record deleted with it (children first). 409 if something
    outside this deletion still needs it."""
    if root.deleted_with is not None:
        raise InvalidStateTransition(
            f"This {resource.label} was deleted with another record: purge or restore that"
        )
    counts: dict[str, int] = {}
    order = {t.name: i for i, t in enumerate(record_tables())}
    tables = sorted(
        (child.model.__table__ for child in descendants(registry, resource)),
        key=lambda t: order[t.name],
    )
    for table in tables:
        while True:
            n = await purge_batch(
                session, table, table.c.deleted_with == root.id, now=now, by=by, limit=limit
            )
            if n:
                counts[table.name] = counts.get(table.name, 0) + n
            if n < limit:
                break
    table = resource.model.__table__
    if not await purge_batch(session, table, table.c.id == root.id, now=now, by=by, limit=1):
        raise Conflict(
            f"This {resource.label} is still referenced by other records and cannot be purged",
            code="still_referenced",
        )
    counts[table.name] = counts.get(table.name, 0) + 1
    return counts


__all__ = [
    "Cascade",
    "check_restorable",
    "delete_children",
    "descendants",
    "parents_of",
    "purge_batch",
    "purge_deletion",
    "record_tables",
    "restore_children",
]
