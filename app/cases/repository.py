"""The service objects through the resource machinery: cases, queues, business hours, case
assignment rules and case escalation rules.

Cases are public read by default: every agent sees every case (queue members what waits in
their queues, which they accept) and may comment on it; owners and the managers above them change
them. Partners see the cases shared with their partner account (app/access). The configuration
objects are read by internal users holding ``cases:read`` and changed by administrators (or
callers granted ``cases:route``, "route and escalate cases": a support manager's scope).
"""

import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing, is_partner
from app.accounts.repository import records as accounts
from app.auth.principal import Principal, PrincipalKind
from app.cases import escalation, policies, routing, schemas
from app.contacts.repository import records as contacts
from app.kit import clock
from app.kit.errors import Forbidden
from app.kit.resource import Records, Resource, invalid
from app.models import (
    BusinessHours,
    Case,
    CaseAssignmentRule,
    CaseEscalationRule,
    EmailTemplate,
    Product,
    Queue,
    User,
    UserKind,
)
from app.models.cases import CASE_NUMBER_SEQ
from app.picklists.cache import picklists
from app.portal import rules as portal_rules
from app.satisfaction import service as satisfaction

# --- cases -----------------------------------------------------------------------------------


async def _live(session: AsyncSession, model, record_id: Any) -> bool:
    found = await session.scalar(
        select(model.id).where(model.id == record_id, model.deleted_at.is_(None))
    )
    return found is not None


async def validate_case(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing: Case | None
) -> None:
    now = clock.now()
    if is_partner(principal) and values.get("queue_id") is not None:
        raise invalid("queue_id", "read_only", "Partners cannot put cases in queues")
    portal = principal.kind == PrincipalKind.portal_user
    if portal:
        # A customer's case is theirs: contact, account, origin, status and owner are set here,
        # whatever the path (app/portal/rules.py).
        await portal_rules.case_values(session, principal, values, existing)
    for name, records in (("account_id", accounts), ("contact_id", contacts)):
        if portal:
            break
        ref = values.get(name)
        changed = ref is not None and (existing is None or ref != getattr(existing, name))
        if changed and not await records.visible_id(session, principal, ref):
            raise invalid(name, "not_found", f"No such {records.r.label}")
    if values.get("product_id") is not None and not await _live(
        session, Product, values["product_id"]
    ):
        raise invalid("product_id", "not_found", "No such product")
    queue_id = values.get("queue_id")
    if queue_id is not None and (existing is None or queue_id != existing.queue_id):
        owner = await session.scalar(
            select(Queue.owner_id).where(Queue.id == queue_id, Queue.deleted_at.is_(None))
        )
        if owner is None:
            raise invalid("queue_id", "not_found", "No such queue")
        # A case in a queue belongs to the queue's owner until an agent accepts it.
        values["owner_id"] = owner
    elif (
        existing is not None
        and values.get("owner_id") is not None
        and values["owner_id"] != existing.owner_id
        and "queue_id" not in values
    ):
        values["queue_id"] = None  # given to someone: out of the queue
    if existing is None:
        number = await session.scalar(select(CASE_NUMBER_SEQ.next_value()))
        values["case_number"] = f"{number:08d}"
        closed, _ = await policies.status_flags(session, values.get("status"))
        values["is_closed"] = closed
        values["closed_at"] = now if closed else None
    else:
        await escalation.on_change(session, existing, values, now)


async def after_case_write(
    session: AsyncSession, principal: Principal, row: Case, changes: dict | None
) -> None:
    if changes is not None:
        if changes.get("is_closed", (None, False))[1] is True:
            # Every close path (close, PATCH of the status, the portal) comes through here.
            await satisfaction.case_closed(session, row)
        return
    # Created: assignment rule, then the escalation clock (on the case as routed).
    closed, waiting = await policies.status_flags(session, row.status)
    if closed or waiting:
        row.paused_at = row.created_at
    await routing.assign(session, principal, row)
    await escalation.start(session, row)
    await session.flush()


# What a customer sees of their own case (app/access): no owner, queue, partner or escalation
# bookkeeping, no custom fields.
PORTAL_FIELDS = (
    "id",
    "case_number",
    "subject",
    "description",
    "status",
    "priority",
    "origin",
    "type",
    "reason",
    "account_id",
    "contact_id",
    "product_id",
    "language",
    "is_closed",
    "closed_at",
    "created_at",
    "updated_at",
    "version",
    "satisfaction_score",
    "satisfaction_comment",
    "satisfaction_at",
)

case_resource = Resource(
    name="cases",
    model=Case,
    out=schemas.Case,
    create=schemas.CaseCreate,
    update=schemas.CaseUpdate,
    sharing=Sharing.public_read,
    filterable=(
        "case_number",
        "subject",
        "status",
        "priority",
        "origin",
        "type",
        "reason",
        "account_id",
        "contact_id",
        "product_id",
        "language",
        "owner_id",
        "queue_id",
        "partner_account_id",
        "supplied_email",
        "is_closed",
        "is_escalated",
        "created_at",
        "updated_at",
        "closed_at",
        "first_response_at",
    ),
    sortable=("case_number", "priority", "status", "created_at", "updated_at", "closed_at"),
    searchable=("case_number", "subject", "supplied_email", "supplied_name"),
    label="case",
    picklists=("status", "priority", "origin", "type", "reason"),
    required=("status",),
    validate=validate_case,
    after_write=after_case_write,
    portal_fields=PORTAL_FIELDS,
)
cases = Records(case_resource)


# --- configuration objects (administrators) ---------------------------------------------------


def _admin(principal: Principal) -> None:
    if not (principal.has("admin") or principal.has("cases:route")):
        raise Forbidden(
            "Changing case routing needs the admin or cases:route scope", code="insufficient_scope"
        )


async def _check_user(session: AsyncSession, field: str, user_id: Any) -> None:
    found = await session.scalar(
        select(User.id).where(
            User.id == uuid.UUID(str(user_id)),
            User.is_active.is_(True),
            User.kind == UserKind.internal,
        )
    )
    if found is None:
        raise invalid(field, "not_found", "Must be an active internal user")


async def _check_ref(session: AsyncSession, field: str, model, ref: Any, what: str) -> None:
    if ref is not None and not await _live(session, model, uuid.UUID(str(ref))):
        raise invalid(field, "not_found", f"No such {what}")


async def validate_queue(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing: Queue | None
) -> None:
    _admin(principal)
    members = values.get("member_ids")
    if members is None:
        if existing is None or "member_ids" in values:
            values["member_ids"] = []  # null, as on create, is a queue without members
    else:
        if len(set(members)) != len(members):
            raise invalid("member_ids", "duplicate", "A member is listed twice")
        for i, m in enumerate(members):
            await _check_user(session, f"member_ids[{i}]", m)
        values["member_ids"] = [str(m) for m in members]


queue_resource = Resource(
    name="queues",
    model=Queue,
    out=schemas.Queue,
    create=schemas.QueueCreate,
    update=schemas.QueueUpdate,
    sharing=Sharing.public_read,
    filterable=("name", "owner_id", "created_at", "updated_at"),
    sortable=("name", "created_at", "updated_at"),
    searchable=("name",),
    label="queue",
    required=("name",),
    validate=validate_queue,
    scope_name="cases",
)
queues = Records(queue_resource)


async def validate_business_hours(
    session: AsyncSession,
    principal: Principal,
    values: dict[str, Any],
    existing: BusinessHours | None,
) -> None:
    _admin(principal)
    if values.get("hours") is not None:
        # Stored as given, without the closed days' nulls.
        values["hours"] = {k: v for k, v in values["hours"].items() if v}
    if values.get("holidays") is not None:
        values["holidays"] = sorted({d.isoformat() for d in values["holidays"]})
    elif existing is None:
        values["holidays"] = []


business_hours_resource = Resource(
    name="business-hours",
    model=BusinessHours,
    out=schemas.BusinessHours,
    create=schemas.BusinessHoursCreate,
    update=schemas.BusinessHoursUpdate,
    sharing=Sharing.public_read,
    filterable=("name", "time_zone", "owner_id", "created_at", "updated_at"),
    sortable=("name", "created_at", "updated_at"),
    label="business hours",
    required=("name", "time_zone", "hours", "holidays"),
    validate=validate_business_hours,
    scope_name="cases",
)
business_hours = Records(business_hours_resource)


async def _deactivate_others(session: AsyncSession, model, keep: uuid.UUID | None) -> None:
    stmt = update(model).where(model.is_active.is_(True))
    if keep is not None:
        stmt = stmt.where(model.id != keep)
    await session.execute(
        stmt.values(
            is_active=False, updated_at=func.now(), version=model.version + 1
        ).execution_options(synchronize_session=False)
    )


async def _check_priority(session: AsyncSession, field: str, value: str | None) -> None:
    if value is not None and not (await picklists.get(session)).is_active(
        "cases", "priority", value
    ):
        raise invalid(field, "invalid_picklist_value", f"'{value}' is not an active priority")


async def _check_assignment_entry(
    session: AsyncSession, at: str, e: schemas.AssignmentEntry
) -> None:
    await _check_ref(session, f"{at}.queue_id", Queue, e.queue_id, "queue")
    if e.user_id is not None:
        await _check_user(session, f"{at}.user_id", e.user_id)
    await _check_ref(session, f"{at}.template_id", EmailTemplate, e.template_id, "template")


async def _check_escalation_entry(
    session: AsyncSession, at: str, e: schemas.EscalationEntry
) -> None:
    await _check_ref(
        session, f"{at}.business_hours_id", BusinessHours, e.business_hours_id, "business hours"
    )
    await _check_priority(session, f"{at}.actions.set_priority", e.actions.set_priority)
    if e.actions.reassign_user_id is not None:
        await _check_user(session, f"{at}.actions.reassign_user_id", e.actions.reassign_user_id)
    await _check_ref(
        session, f"{at}.actions.reassign_queue_id", Queue, e.actions.reassign_queue_id, "queue"
    )


async def _validate_rule(
    session: AsyncSession,
    principal: Principal,
    values: dict[str, Any],
    existing: Any,
    *,
    model: type,
    entries_type: TypeAdapter,
    check_entry: Callable[[AsyncSession, str, Any], Awaitable[None]],
) -> None:
    """A routing rule's entries, each checked; at most one rule of its kind is active."""
    _admin(principal)
    entries = values.get("entries")
    if entries is None:
        if existing is None:
            values["entries"] = []
    else:
        parsed = entries_type.validate_python(entries)
        for i, e in enumerate(parsed):
            await check_entry(session, f"entries[{i}]", e)
        values["entries"] = entries_type.dump_python(parsed, mode="json")
    if values.get("is_active"):
        await _deactivate_others(session, model, existing.id if existing is not None else None)


# The Resource hooks of the two kinds of rule.
validate_assignment_rule = partial(
    _validate_rule,
    model=CaseAssignmentRule,
    entries_type=TypeAdapter(list[schemas.AssignmentEntry]),
    check_entry=_check_assignment_entry,
)
validate_escalation_rule = partial(
    _validate_rule,
    model=CaseEscalationRule,
    entries_type=TypeAdapter(list[schemas.EscalationEntry]),
    check_entry=_check_escalation_entry,
)


async def after_escalation_rule_write(
    session: AsyncSession, principal: Principal, row: CaseEscalationRule, changes: dict | None
) -> None:
    if changes is not None and ("entries" in changes or "is_active" in changes):
        # Open cases follow the rule as it is now: new due times, new timers.
        await escalation.replan(session, row.id)


# What the two kinds of rule share: read by every agent, changed by those who route cases.
_rule_resource = partial(
    Resource,
    sharing=Sharing.public_read,
    filterable=("name", "is_active", "owner_id", "created_at", "updated_at"),
    sortable=("name", "created_at", "updated_at"),
    required=("name", "is_active", "entries"),
    scope_name="cases",
)
assignment_rule_resource = _rule_resource(
    name="case-assignment-rules",
    model=CaseAssignmentRule,
    out=schemas.AssignmentRule,
    create=schemas.AssignmentRuleCreate,
    update=schemas.AssignmentRuleUpdate,
    label="case assignment rule",
    validate=validate_assignment_rule,
)
assignment_rules = Records(assignment_rule_resource)

escalation_rule_resource = _rule_resource(
    name="case-escalation-rules",
    model=CaseEscalationRule,
    out=schemas.EscalationRule,
    create=schemas.EscalationRuleCreate,
    update=schemas.EscalationRuleUpdate,
    label="case escalation rule",
    validate=validate_escalation_rule,
    after_write=after_escalation_rule_write,
)
escalation_rules = Records(escalation_rule_resource)
