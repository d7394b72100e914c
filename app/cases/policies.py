"""Case states and who may do what.

A case's status is a picklist value; its attributes say what the status means: ``is_closed``
(closing sets ``closed_at``; several statuses may be closed, as in Salesforce) and
``is_waiting`` (waiting on the customer: the escalation clock stops). The workflow transitions:

- close: an open case to a closed status (409 ``invalid_state_transition`` when closed);
- reopen: a closed case to an open status (409 when open);
- accept: a case waiting in a queue, by a member of that queue (409 when in no queue).

A PATCH of the status may also close or reopen; the same bookkeeping applies.
"""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal, PrincipalKind
from app.auth.scopes import SCOPES
from app.kit.errors import InvalidStateTransition
from app.models import Case
from app.picklists.cache import picklists

OBJECT = "cases"
# The standard origins (the values of the cases.origin picklist seeded by the migration), for
# the creation paths that set them.
PHONE, EMAIL, WEB, CHAT, PORTAL = "Phone", "Email", "Web", "Chat", "Portal"

# Jobs and rules act as the system: a service principal that sees everything; the changes it
# makes show ``changed_by`` null in field history.
SYSTEM = Principal(
    kind=PrincipalKind.service,
    scopes=frozenset(SCOPES),
    client_pk=uuid.UUID(int=0),
    client_id="accord-system",
)


async def status_flags(session: AsyncSession, status: str | None) -> tuple[bool, bool]:
    """(is_closed, is_waiting) of a case status."""
    if status is None:
        return False, False
    entry = (await picklists.get(session)).entry(OBJECT, "status", status)
    if entry is None:
        return False, False
    return bool(entry.is_closed), bool(entry.is_waiting)


async def closed_statuses(session: AsyncSession) -> list[str]:
    entries = (await picklists.get(session)).entries(OBJECT, "status").values()
    return [e.value for e in entries if e.is_active and e.is_closed]


async def default_open_status(session: AsyncSession) -> str | None:
    snap = await picklists.get(session)
    default = snap.default(OBJECT, "status")
    if default is not None and not snap.entry(OBJECT, "status", default).is_closed:
        return default
    for e in snap.entries(OBJECT, "status").values():
        if e.is_active and not e.is_closed and not e.is_waiting:
            return e.value
    return None


async def raised_priority(session: AsyncSession, current: str | None) -> str | None:
    """The next higher active priority (the picklist is ordered highest first)."""
    values = [
        e.value
        for e in (await picklists.get(session)).entries(OBJECT, "priority").values()
        if e.is_active
    ]
    if not values:
        return current
    if current not in values:
        return values[len(values) // 2] if current is None else current
    i = values.index(current)
    return values[max(i - 1, 0)]


def may_close(case: Case) -> None:
    if case.is_closed:
        raise InvalidStateTransition("The case is already closed")


def may_reopen(case: Case) -> None:
    if not case.is_closed:
        raise InvalidStateTransition("The case is not closed")


def may_accept(case: Case) -> None:
    if case.queue_id is None:
        raise InvalidStateTransition("The case is not waiting in a queue")
