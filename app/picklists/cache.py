"""The picklist values every write checks, from an in-process snapshot.

Why a cache: picklists are checked on every create and update that sets a picklist field, and
a lead or opportunity created without a status or stage takes the picklist's default, so a
query per check would put a query on nearly every create.
The whole table is small (a few hundred rows), so each process keeps a snapshot of all of it,
loaded with one query when it is older than ``TTL_SECONDS``. In steady state a write costs no
query at all; a process notices another process's picklist change within ``TTL_SECONDS``.

Invalidation: the administrator endpoints (``app.picklists.service``) drop the snapshot at once
and again when their transaction ends, so in the process that made a change the next request
sees it. The snapshot is loaded through the caller's session, so it sees what that transaction
sees; a load that happens inside a transaction which later rolls back (a test, or a batch that
is undone) can keep an uncommitted change for at most ``TTL_SECONDS`` (tests reset it).

Considered: checking inside the INSERT's own SQL (as the org-wide defaults do), but defaults and
stage attributes must be known before the row is built; a version row read on every write would
cost the query the cache is there to save.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.opportunities import ForecastCategory
from app.models.picklists import PicklistValue

TTL_SECONDS = 5.0

Key = tuple[str, str]  # (object, field)

# Fields that use another field's value set (Salesforce's shared standard value sets:
# LeadSource, Industry, AccountRating). Reads and writes of either name reach the same values.
SHARED: dict[Key, Key] = {
    ("contacts", "lead_source"): ("leads", "lead_source"),
    ("opportunities", "lead_source"): ("leads", "lead_source"),
    ("leads", "industry"): ("accounts", "industry"),
    ("leads", "rating"): ("accounts", "rating"),
}

# The per-value attributes a value set uses; any other attribute is refused on its values.
ATTRIBUTES: dict[Key, tuple[str, ...]] = {
    ("opportunities", "stage"): ("probability", "forecast_category", "is_closed", "is_won"),
    ("leads", "status"): ("is_converted",),
    ("cases", "status"): ("is_closed", "is_waiting"),
}
ALL_ATTRIBUTES = (
    "probability",
    "forecast_category",
    "is_closed",
    "is_won",
    "is_converted",
    "is_waiting",
)

# Value sets of fields records cannot leave empty: their default may move, never disappear.
NEEDS_DEFAULT: frozenset[Key] = frozenset(
    {("opportunities", "stage"), ("leads", "status"), ("cases", "status")}
)


def value_set(obj: str, field: str) -> Key:
    """The (object, field) whose rows hold this field's values."""
    return SHARED.get((obj, field), (obj, field))


def sharers(key: Key) -> list[Key]:
    """Every field that uses the value set ``key`` (itself first)."""
    return [key, *sorted(k for k, v in SHARED.items() if v == key)]


@dataclass(frozen=True, slots=True)
class Entry:
    value: str
    label: str
    sort_order: int
    is_active: bool
    is_default: bool
    probability: int | None
    forecast_category: ForecastCategory | None
    is_closed: bool | None
    is_won: bool | None
    is_converted: bool | None
    is_waiting: bool | None = None


# An entry is its row's columns of the same names.
ENTRY_FIELDS = tuple(f.name for f in fields(Entry))


class Snapshot:
    def __init__(self, rows: Iterable[Any]) -> None:
        self._sets: dict[Key, dict[str, Entry]] = {}
        for r in sorted(rows, key=lambda r: (r.sort_order, r.value)):
            entry = Entry(**{f: getattr(r, f) for f in ENTRY_FIELDS})
            self._sets.setdefault((r.object, r.field), {})[r.value] = entry

    def entries(self, obj: str, field: str) -> dict[str, Entry]:
        """The field's values in sort order, inactive ones included."""
        return self._sets.get(value_set(obj, field), {})

    def entry(self, obj: str, field: str, value: str) -> Entry | None:
        return self.entries(obj, field).get(value)

    def is_active(self, obj: str, field: str, value: str) -> bool:
        e = self.entry(obj, field, value)
        return e is not None and e.is_active

    def default(self, obj: str, field: str) -> str | None:
        for e in self.entries(obj, field).values():
            if e.is_default and e.is_active:
                return e.value
        return None

    def converted_statuses(self) -> list[str]:
        """Active lead statuses that mean "converted", in sort order."""
        return [
            e.value
            for e in self.entries("leads", "status").values()
            if e.is_active and e.is_converted
        ]


P = PicklistValue
# Plain rows, not ORM objects: nothing lands in the caller's identity map.
_LOAD = select(P.object, P.field, *(getattr(P, f) for f in ENTRY_FIELDS))


class PicklistCache:
    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self.ttl = ttl
        self._snapshot: Snapshot | None = None
        self._loaded_at = 0.0

    async def get(self, session: AsyncSession) -> Snapshot:
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._loaded_at < self.ttl:
            return snap
        started = time.monotonic()
        rows = (await session.execute(_LOAD)).all()
        snap = Snapshot(rows)
        # Keep it unless someone invalidated while this load ran.
        if self._loaded_at <= started:
            self._snapshot, self._loaded_at = snap, started
        return snap

    def invalidate(self) -> None:
        self._snapshot = None
        self._loaded_at = time.monotonic()


picklists = PicklistCache()

__all__ = [
    "ATTRIBUTES",
    "NEEDS_DEFAULT",
    "SHARED",
    "Entry",
    "PicklistCache",
    "Snapshot",
    "picklists",
    "sharers",
    "value_set",
]
