"""Tasks, events and notes, through the resource machinery. Each is owned (a task's owner is its
assignee) and private; what it is attached to must be a record the caller can see."""

from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing
from app.accounts.repository import records as accounts
from app.activities import schemas
from app.auth.principal import Principal
from app.campaigns.repository import campaigns
from app.contacts.repository import records as contacts
from app.kit.resource import Records, Resource, invalid
from app.leads.repository import records as leads
from app.models import Event, Note, Task
from app.opportunities.repository import records as opportunities
from app.products.repository import products

WHAT: dict[str, Records] = {
    "account": accounts,
    "opportunity": opportunities,
    "campaign": campaigns,
    "product": products,
}
WHO: dict[str, Records] = {"lead": leads, "contact": contacts}
CLOSED_TASK_STATUSES = frozenset({"Completed"})


def _now(values: dict[str, Any], existing, name: str) -> Any:
    return values[name] if name in values else getattr(existing, name, None)


async def _check_reference(
    session, principal, values, existing, prefix: str, kinds: dict[str, Records]
) -> None:
    type_field, id_field = f"{prefix}_type", f"{prefix}_id"
    if type_field not in values and id_field not in values:
        return
    kind, ref = _now(values, existing, type_field), _now(values, existing, id_field)
    if (kind is None) != (ref is None):
        missing = id_field if ref is None else type_field
        raise invalid(missing, "required", f"{type_field} and {id_field} go together")
    if ref is not None and not await kinds[kind].referenceable(session, principal, ref):
        raise invalid(id_field, "not_found", f"No such {kind}")


async def _check_related(session, principal, values, existing) -> None:
    await _check_reference(session, principal, values, existing, "what", WHAT)
    await _check_reference(session, principal, values, existing, "who", WHO)
    if _now(values, existing, "who_type") == "lead" and _now(values, existing, "what_id"):
        raise invalid("what_id", "invalid", "An activity about a lead cannot name a related record")


async def validate_task(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing
) -> None:
    await _check_related(session, principal, values, existing)
    if "status" in values:
        values["is_closed"] = values["status"] in CLOSED_TASK_STATUSES


async def validate_event(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing
) -> None:
    await _check_related(session, principal, values, existing)
    start, end = _now(values, existing, "start_at"), _now(values, existing, "end_at")
    if start is not None and end is not None and end < start:
        raise invalid("end_at", "before_start", "end_at cannot be before start_at")


async def validate_note(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing
) -> None:
    if existing is None:
        kind = values["parent_type"]
        if not await {**WHAT, **WHO}[kind].visible_id(session, principal, values["parent_id"]):
            raise invalid("parent_id", "not_found", f"No such {kind}")


_RELATED = ("what_type", "what_id", "who_type", "who_id")
_STAMPS = ("owner_id", "created_at", "updated_at")

# What tasks, events and notes share: private to their owners, under the `activities` scopes.
_activity_resource = partial(Resource, sharing=Sharing.private, scope_name="activities")

tasks_resource = _activity_resource(
    name="tasks",
    model=Task,
    out=schemas.Task,
    create=schemas.TaskCreate,
    update=schemas.TaskUpdate,
    filterable=(
        "subject",
        "subtype",
        "status",
        "priority",
        "due_date",
        "is_closed",
        *_RELATED,
        *_STAMPS,
    ),
    sortable=("subject", "status", "priority", "due_date", "created_at", "updated_at"),
    searchable=("subject",),
    label="task",
    required=("subject", "status", "priority"),
    validate=validate_task,
)
tasks = Records(tasks_resource)

events_resource = _activity_resource(
    name="events",
    model=Event,
    out=schemas.Event,
    create=schemas.EventCreate,
    update=schemas.EventUpdate,
    filterable=("subject", "start_at", "end_at", "is_all_day", "location", *_RELATED, *_STAMPS),
    sortable=("subject", "start_at", "end_at", "created_at", "updated_at"),
    searchable=("subject", "location"),
    label="event",
    required=("subject", "start_at", "end_at", "is_all_day"),
    validate=validate_event,
)
events = Records(events_resource)

notes_resource = _activity_resource(
    name="notes",
    model=Note,
    out=schemas.Note,
    create=schemas.NoteCreate,
    update=schemas.NoteUpdate,
    filterable=("title", "parent_type", "parent_id", *_STAMPS),
    sortable=("title", "created_at", "updated_at"),
    searchable=("title", "body"),
    label="note",
    required=("title",),
    validate=validate_note,
)
notes = Records(notes_resource)
