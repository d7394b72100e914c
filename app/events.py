"""Domain events through an outbox.

Two streams, both written in the business transaction and read in (transaction id, seq) order:

- record events: the ``changes`` rows every create, update, delete, restore and purge through
  the resource machinery already writes (``lead.created``, ``opportunity.deleted`` ...; no extra
  statement on the write path);
- workflow events: ``emit(session, "lead.converted", "leads", lead.id, {...})`` adds a
  ``domain_events`` row.

After commit, the dispatcher (a poller every job worker runs, ``jobs_poll_seconds``; one at a
time through a row lock on the cursors) reads what is new and hands it, in order, to the
consumers: batch consumers (webhooks) and per-event subscribers (notifications), inside one
transaction with the cursor update. A failure rolls the whole batch back and it is tried again
on the next poll, so each event is fanned out exactly once.
"""

import fnmatch
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app.jobs import queue
from app.kit import clock
from app.models.jobs import DomainEvent

logger = logging.getLogger("accord.events")

# op in the change feed -> event verb
VERBS = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "restore": "restored",
    "purge": "purged",
}

# Workflow event types, declared by the modules that emit them (for validation and docs).
WORKFLOW_EVENTS: dict[str, str] = {}


def declare(event_type: str, description: str) -> str:
    WORKFLOW_EVENTS[event_type] = description
    return event_type


LEAD_CONVERTED = declare(
    "lead.converted", "A lead was converted into an account, a contact and an opportunity"
)


@dataclass(frozen=True, slots=True)
class Event:
    id: str  # stable across retries and redeliveries: the webhook message id
    type: str  # lead.created, lead.converted ...
    object_type: str  # the resource's object type: leads, opportunities ...
    record_id: uuid.UUID
    occurred_at: datetime
    actor_id: uuid.UUID | None
    data: dict[str, Any] = field(default_factory=dict)
    # Record events: the op (create, update ...) and the change-feed row's seq.
    op: str | None = None


def resource_for(object_type: str):
    from app.kit.resource import REGISTRY

    for r in REGISTRY.values():
        if r.object_type == object_type:
            return r
    return None


def type_prefix(object_type: str) -> str:
    """``opportunity_line_items`` -> ``opportunity_line_item`` (the resource's label)."""
    r = resource_for(object_type)
    return r.label.replace(" ", "_") if r else object_type


def known_event_types() -> list[str]:
    from app.kit.resource import REGISTRY

    names = [f"{r.label.replace(' ', '_')}.{v}" for r in REGISTRY.values() for v in VERBS.values()]
    return sorted({*names, *WORKFLOW_EVENTS})


def matches(pattern: str, event_type: str) -> bool:
    """``*``, an exact type, or ``lead.*``."""
    return pattern == "*" or pattern == event_type or fnmatch.fnmatchcase(event_type, pattern)


_EMIT = insert(DomainEvent.__table__).values(
    event_type=bindparam("event_type"),
    object_type=bindparam("object_type"),
    record_id=bindparam("record_id"),
    data=bindparam("data", type_=JSONB),
    actor_id=bindparam("actor_id"),
    occurred_at=bindparam("occurred_at"),
)


async def emit(
    session: AsyncSession,
    event_type: str,
    object_type: str,
    record_id: uuid.UUID,
    data: dict | None = None,
    *,
    actor_id: uuid.UUID | None = None,
) -> None:
    """Record a workflow event in the caller's transaction (one INSERT). ``object_type`` is the
    resource's (``leads``); ``data`` must be JSON-serialisable (ids as strings)."""
    await session.execute(
        _EMIT,
        {
            "event_type": event_type,
            "object_type": object_type,
            "record_id": record_id,
            "data": data or {},
            "actor_id": actor_id,
            "occurred_at": clock.now(),
        },
    )


# --- consumers -------------------------------------------------------------------------

BatchConsumer = Callable[[AsyncSession, list[Event]], Awaitable[None]]
Subscriber = Callable[[AsyncSession, Event], Awaitable[None]]

CONSUMERS: dict[str, BatchConsumer] = {}
SUBSCRIBERS: list[tuple[str, Subscriber]] = []


def consumer(name: str) -> Callable[[BatchConsumer], BatchConsumer]:
    """Register ``async def fn(session, events)`` called with every batch, in order."""

    def register(fn: BatchConsumer) -> BatchConsumer:
        CONSUMERS[name] = fn
        return fn

    return register


def subscribe(pattern: str) -> Callable[[Subscriber], Subscriber]:
    """Register ``async def fn(session, event)`` for events matching ``pattern`` (``*``,
    ``lead.converted``, ``lead.*``). It runs in the dispatcher's transaction: write rows (a
    notification, a job with ``jobs.enqueue``), do not call out; raising retries the batch."""

    def register(fn: Subscriber) -> Subscriber:
        SUBSCRIBERS.append((pattern, fn))
        return fn

    return register


# --- the dispatcher --------------------------------------------------------------------

BATCH = 2000
# The horizon: the oldest transaction still open *in this database* (other databases of the
# cluster cannot write here, so a long transaction elsewhere must not hold fan-out back, as
# pg_snapshot_xmin would). pg_stat_activity and pg_prepared_xacts give 32-bit xids: widened
# against the snapshot's xmax. Read in its own statement before the rows: a transaction open
# now is at or above the horizon; one below it has finished, so the next statement's snapshot
# sees its rows.
_HORIZON = text(
    """
    WITH top AS (SELECT (pg_snapshot_xmax(pg_current_snapshot())::text)::bigint AS full),
    open AS (
        SELECT backend_xid::text::bigint AS x FROM pg_stat_activity
        WHERE datname = current_database() AND backend_xid IS NOT NULL
          AND pid <> pg_backend_pid()
        UNION ALL
        SELECT transaction::text::bigint FROM pg_prepared_xacts
        WHERE database = current_database()
    )
    SELECT coalesce(min(top.full - ((top.full % 4294967296 - open.x + 4294967296) % 4294967296)),
                    max(top.full))
    FROM top LEFT JOIN open ON true
    """
)
_FRESH = text("SELECT pg_stat_clear_snapshot()")
_SETTLED = """(xid < :horizon OR xid = (pg_current_xact_id_if_assigned()::text)::bigint)"""

_LOCK = text(
    "SELECT name, xid, seq FROM event_cursors WHERE name IN ('changes', 'domain_events') "
    "FOR UPDATE SKIP LOCKED"
)
_CHANGES = text(
    f"""SELECT seq, xid, object_type, record_id, op, changed_by, changed_at FROM changes
    WHERE (xid, seq) > (:xid, :seq) AND {_SETTLED} ORDER BY xid, seq LIMIT :limit"""  # noqa: S608
)
_WORKFLOW = text(
    f"""SELECT seq, xid, event_type, object_type, record_id, data, actor_id, occurred_at
    FROM domain_events
    WHERE (xid, seq) > (:xid, :seq) AND {_SETTLED} AND xid < :below
    ORDER BY xid, seq LIMIT :limit"""  # noqa: S608 (constant fragments)
)
_MOVE = text("UPDATE event_cursors SET xid = :xid, seq = :seq WHERE name = :name")
_SEED = text(
    "INSERT INTO event_cursors (name, xid, seq) VALUES ('changes', 0, 0), ('domain_events', 0, 0) "
    "ON CONFLICT DO NOTHING"
)


_BACKLOG = text(
    """SELECT EXISTS (SELECT 1 FROM changes
                   WHERE (xid, seq) > (SELECT xid, seq FROM event_cursors WHERE name = 'changes'))
        OR EXISTS (SELECT 1 FROM domain_events WHERE (xid, seq) > (
                   SELECT xid, seq FROM event_cursors WHERE name = 'domain_events'))"""
)


async def backlog(session: AsyncSession) -> bool:
    """Whether committed events wait to be fanned out (including ones the dispatcher may not
    take yet because an older transaction of this database is still open); ``drain`` waits
    for them."""
    return bool(await session.scalar(_BACKLOG))


@queue.poller("events.dispatch")
async def dispatch(session: AsyncSession, limit: int = BATCH) -> int:
    """Fan out the next batch of settled events; returns how many (0: nothing new, or another
    worker is at it)."""
    cursors = {r.name: r for r in (await session.execute(_LOCK)).all()}
    if len(cursors) < 2:
        if not cursors:
            await session.execute(_SEED)
        return 0
    c, w = cursors["changes"], cursors["domain_events"]
    # pg_stat_activity is read once per transaction and then cached: start from a fresh read.
    await session.execute(_FRESH)
    horizon = await session.scalar(_HORIZON)
    changes = (
        await session.execute(
            _CHANGES, {"xid": c.xid, "seq": c.seq, "limit": limit, "horizon": horizon}
        )
    ).all()
    # Workflow events must not overtake record events of the same or a later transaction that
    # this batch did not reach: with a full batch of changes, stop below its last transaction.
    below = changes[-1].xid if len(changes) == limit else 2**63 - 1
    workflow = (
        await session.execute(
            _WORKFLOW,
            {"xid": w.xid, "seq": w.seq, "below": below, "limit": limit, "horizon": horizon},
        )
    ).all()
    if not changes and not workflow:
        return 0
    # Per record, the change-feed seq is the order of the writes (a second writer of a record
    # waits for the first to commit before it writes and logs), while transaction ids are
    # assigned at a transaction's first write: within a batch, record events go in seq order,
    # and a workflow event right after the last record event of its own transaction.
    merged: list[tuple[tuple[int, int, int], Event]] = []
    last_of_xid: dict[int, int] = {}
    for r in changes:
        last_of_xid[r.xid] = max(last_of_xid.get(r.xid, 0), r.seq)
        merged.append(
            (
                (r.seq, 0, 0),
                Event(
                    id=f"evt_c{r.seq}",
                    type=f"{type_prefix(r.object_type)}.{VERBS.get(r.op, r.op)}",
                    object_type=r.object_type,
                    record_id=r.record_id,
                    occurred_at=r.changed_at,
                    actor_id=r.changed_by,
                    op=r.op,
                ),
            )
        )
    for r in workflow:
        merged.append(
            (
                (last_of_xid.get(r.xid, 2**62), 1, r.seq),
                Event(
                    id=f"evt_w{r.seq}",
                    type=r.event_type,
                    object_type=r.object_type,
                    record_id=r.record_id,
                    occurred_at=r.occurred_at,
                    actor_id=r.actor_id,
                    data=dict(r.data or {}),
                ),
            )
        )
    merged.sort(key=lambda item: item[0])
    batch = [e for _, e in merged]
    for fn in CONSUMERS.values():
        await fn(session, batch)
    if SUBSCRIBERS:
        for event in batch:
            for pattern, fn in SUBSCRIBERS:
                if matches(pattern, event.type):
                    await fn(session, event)
    if changes:
        last = changes[-1]
        await session.execute(_MOVE, {"name": "changes", "xid": last.xid, "seq": last.seq})
    if workflow:
        last = workflow[-1]
        await session.execute(_MOVE, {"name": "domain_events", "xid": last.xid, "seq": last.seq})
    return len(batch)


dispatch.backlog = backlog  # type: ignore[attr-defined]


__all__ = [
    "CONSUMERS",
    "LEAD_CONVERTED",
    "SUBSCRIBERS",
    "Event",
    "consumer",
    "declare",
    "dispatch",
    "emit",
    "known_event_types",
    "matches",
    "subscribe",
]
