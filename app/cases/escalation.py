"""Escalation: when a case must have its first response and its resolution, and what happens
when it does not.

The entry of the active escalation rule that matches a new case (first match wins) is kept on
the case. Its targets are business time (``app/cases/hours.py``) from the case's creation, not
counting the time the clock was stopped (``paused_seconds``: business seconds while waiting on
the customer or closed). Each pending target has a due time on the case and a timer: a job with
``run_at`` = the due time, so it fires then (the job queue wakes for it), not on a sweep.

A timer re-checks everything when it runs, under a row lock: the case still exists, is open,
its clock running, the due time is the one the timer was set for (a pause, a resume, a response
or a reopening sets new due times and new timers, which makes older timers stale), and the
target is still what the rule says now (an administrator may have changed it: a later due time
is rescheduled, a removed target dropped). Only then are the entry's actions applied: priority
raised, the case reassigned, owner and owner's manager notified, ``is_escalated`` set.
"""

import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events, jobs
from app.cases import criteria, hours, policies
from app.kit import clock
from app.models import BusinessHours, Case, CaseEscalationRule, Queue, User, UserKind
from app.notifications.service import notify

TASK = "cases.escalate"
DUE = {"first_response": "first_response_due_at", "resolution": "resolution_due_at"}
DUE_FIELDS = tuple(DUE.values())
CASE_ESCALATED = events.declare(
    "case.escalated", "A case missed its first-response or resolution target and was escalated"
)
# Case fields the criteria read: changing one may select another escalation entry.
CRITERIA_FIELDS = (
    "type",
    "origin",
    "priority",
    "reason",
    "account_id",
    "partner_account_id",
    "product_id",
    "language",
)
# A timer that finds its target moved later by less than this escalates anyway (clock jitter).
SLACK = timedelta(milliseconds=500)


async def calendar(session: AsyncSession, business_hours_id: Any) -> hours.Calendar | None:
    if business_hours_id is None:
        return None
    row = (
        await session.execute(
            select(BusinessHours.time_zone, BusinessHours.hours, BusinessHours.holidays).where(
                BusinessHours.id == uuid.UUID(str(business_hours_id)),
                BusinessHours.deleted_at.is_(None),
            )
        )
    ).first()
    if row is None:
        return None  # deleted since: every second counts
    return hours.Calendar.from_row(row.time_zone, row.hours, row.holidays)


# One rule is active; restoring a deleted one may make two: the latest change wins.
async def active_rule(session: AsyncSession) -> CaseEscalationRule | None:
    return await session.scalar(
        select(CaseEscalationRule)
        .where(CaseEscalationRule.is_active.is_(True), CaseEscalationRule.deleted_at.is_(None))
        .order_by(CaseEscalationRule.updated_at.desc())
        .limit(1)
    )


async def entry_of(
    session: AsyncSession, case: Any
) -> tuple[hours.Calendar | None, dict[str, Any]] | None:
    """The case's escalation entry as the rule says now (None: no longer applies)."""
    if case.escalation_rule_id is None or case.escalation_entry is None:
        return None
    rule = (
        await session.execute(
            select(
                CaseEscalationRule.entries,
                CaseEscalationRule.is_active,
                CaseEscalationRule.deleted_at,
            ).where(CaseEscalationRule.id == case.escalation_rule_id)
        )
    ).first()
    if rule is None or not rule.is_active or rule.deleted_at is not None:
        return None
    if case.escalation_entry >= len(rule.entries):
        return None
    entry = rule.entries[case.escalation_entry]
    return await calendar(session, entry.get("business_hours_id")), entry


async def due_times(session: AsyncSession, case: Any) -> dict[str, datetime | None]:
    """When each target of the case falls due now (None: nothing pending)."""
    out: dict[str, datetime | None] = dict.fromkeys(DUE_FIELDS)
    if case.paused_at is not None or case.is_closed:
        return out
    found = await entry_of(session, case)
    if found is None:
        return out
    cal, entry = found
    first = entry.get("first_response_seconds")
    if first and case.first_response_at is None and case.first_response_escalated_at is None:
        out["first_response_due_at"] = hours.add(cal, case.created_at, first + case.paused_seconds)
    resolution = entry.get("resolution_seconds")
    if resolution and case.resolution_escalated_at is None:
        out["resolution_due_at"] = hours.add(cal, case.created_at, resolution + case.paused_seconds)
    return out


async def schedule(
    session: AsyncSession, case_id: uuid.UUID, dues: dict[str, datetime | None], old: dict
) -> None:
    """A timer for every due time that is new."""
    for kind, field in DUE.items():
        due = dues.get(field)
        if due is not None and due != old.get(field):
            await jobs.enqueue(
                session,
                TASK,
                {"case_id": str(case_id), "kind": kind, "due": due.isoformat()},
                run_at=due,
            )


def _current(case: Any) -> dict[str, Any]:
    return {f: getattr(case, f) for f in DUE_FIELDS}


async def pick(session: AsyncSession, case: Any) -> tuple[uuid.UUID | None, int | None]:
    """The active rule's first entry whose criteria the case matches."""
    rule = await active_rule(session)
    if rule is None:
        return None, None
    tier = await criteria.account_tier(session, case)
    for i, entry in enumerate(rule.entries):
        if criteria.matches(entry.get("criteria"), case, tier):
            return rule.id, i
    return None, None


async def start(session: AsyncSession, case: Case) -> None:
    """On creation: pick the entry of the active rule and set the first timers."""
    case.escalation_rule_id, case.escalation_entry = await pick(session, case)
    if case.escalation_rule_id is None:
        return
    old = _current(case)
    dues = await due_times(session, case)
    for field, value in dues.items():
        setattr(case, field, value)
    await session.flush()
    await schedule(session, case.id, dues, old)


def view(existing: Case, values: dict[str, Any]) -> SimpleNamespace:
    """The case as it will be once ``values`` are applied."""
    names = [c.key for c in Case.__table__.columns]
    return SimpleNamespace(**{n: values.get(n, getattr(existing, n)) for n in names})


async def on_change(
    session: AsyncSession, existing: Case, values: dict[str, Any], now: datetime
) -> None:
    """Before an update: closing, reopening, waiting on the customer and the first response
    stop, start or move the clock. Adds the bookkeeping fields to ``values`` and sets timers."""
    status_changed = "status" in values and values["status"] != existing.status
    responded = values.get("first_response_at") is not None and existing.first_response_at is None
    recriteria = any(
        name in values and values[name] != getattr(existing, name) for name in CRITERIA_FIELDS
    )
    if not status_changed and not responded and not recriteria:
        return
    if recriteria:
        # As Salesforce evaluates escalation rules on edits too: the entry the case matches now
        # (targets still count from creation; a target already escalated is not escalated again).
        rule_id, index = await pick(session, view(existing, values))
        if (rule_id, index) != (existing.escalation_rule_id, existing.escalation_entry):
            values["escalation_rule_id"], values["escalation_entry"] = rule_id, index
    if status_changed:
        closed, waiting = await policies.status_flags(session, values["status"])
        values["is_closed"] = closed
        if closed and not existing.is_closed:
            values["closed_at"] = now
        elif not closed and existing.is_closed:
            values["closed_at"] = None
        stopped = closed or waiting
        if stopped and existing.paused_at is None:
            values["paused_at"] = now
        elif not stopped and existing.paused_at is not None:
            found = await entry_of(session, existing)
            cal = found[0] if found else None
            spent = hours.between(cal, existing.paused_at, now)
            values["paused_seconds"] = existing.paused_seconds + round(spent)
            values["paused_at"] = None
    dues = await due_times(session, view(existing, values))
    values.update(dues)
    await schedule(session, existing.id, dues, _current(existing))


async def replan(session: AsyncSession, rule_id: uuid.UUID) -> None:
    """After a rule changed: new due times (and timers) for its open cases."""
    rows = (
        await session.scalars(
            select(Case)
            .where(
                Case.escalation_rule_id == rule_id,
                Case.is_closed.is_(False),
                Case.deleted_at.is_(None),
                Case.paused_at.is_(None),
            )
            .with_for_update()
        )
    ).all()
    for case in rows:
        old = _current(case)
        dues = await due_times(session, case)
        for field, value in dues.items():
            setattr(case, field, value)
        await schedule(session, case.id, dues, old)
    await session.flush()


async def fire(session: AsyncSession, case_id: uuid.UUID, kind: str, due: datetime) -> bool:
    """The timer of ``kind`` set for ``due``: escalate if it still stands. True if it did."""
    field = DUE[kind]
    case = await session.scalar(select(Case).where(Case.id == case_id).with_for_update())
    if case is None or case.deleted_at is not None or case.is_closed or case.paused_at:
        return False
    if getattr(case, field) != due:
        return False  # stale: the case has other due times now
    dues = await due_times(session, case)
    now = clock.now()
    new = dues[field]
    if new is None or new > now + SLACK:
        # The target was removed or moved later: follow the rule as it is now.
        setattr(case, field, new)
        await session.flush()
        await schedule(session, case.id, {field: new}, {})
        return False
    found = await entry_of(session, case)
    assert found is not None
    await escalate(session, case, kind, found[1].get("actions") or {}, now)
    return True


async def _queue_owner(session: AsyncSession, queue_id: Any) -> uuid.UUID | None:
    return await session.scalar(
        select(Queue.owner_id).where(
            Queue.id == uuid.UUID(str(queue_id)), Queue.deleted_at.is_(None)
        )
    )


async def _active_internal(session: AsyncSession, user_id: Any) -> uuid.UUID | None:
    return await session.scalar(
        select(User.id).where(
            User.id == uuid.UUID(str(user_id)),
            User.is_active.is_(True),
            User.kind == UserKind.internal,
        )
    )


async def escalate(
    session: AsyncSession, case: Case, kind: str, actions: dict[str, Any], now: datetime
) -> None:
    from app.cases.repository import cases  # the resource module imports this one

    values: dict[str, Any] = {
        f"{kind}_escalated_at": now,
        DUE[kind]: None,
        "is_escalated": True,
        "escalated_at": case.escalated_at or now,
    }
    if actions.get("set_priority"):
        values["priority"] = actions["set_priority"]
    elif actions.get("raise_priority", True):
        values["priority"] = await policies.raised_priority(session, case.priority)
    previous_owner = case.owner_id
    if actions.get("reassign_user_id"):
        user = await _active_internal(session, actions["reassign_user_id"])
        if user is not None:
            values.update(owner_id=user, queue_id=None)
    elif actions.get("reassign_queue_id"):
        owner = await _queue_owner(session, actions["reassign_queue_id"])
        if owner is not None:
            values.update(owner_id=owner, queue_id=uuid.UUID(str(actions["reassign_queue_id"])))
    await cases.change(session, policies.SYSTEM, case, values)
    what = "first response" if kind == "first_response" else "resolution"
    title = f"Case {case.case_number} escalated: no {what} in time"
    link = f"/api/v1/cases/{case.id}"
    # The owners before and after, then their managers; each told once.
    told: list[uuid.UUID] = []
    if actions.get("notify_owner", True):
        told += [previous_owner, case.owner_id]
    if actions.get("notify_manager", True):
        managers = await session.scalars(
            select(User.manager_id).where(
                User.id.in_([previous_owner, case.owner_id]), User.manager_id.is_not(None)
            )
        )
        told += managers.all()
    for user_id in dict.fromkeys(told):
        await notify(
            session,
            user_id,
            kind="case.escalated",
            title=title,
            link=link,
            object_type="cases",
            record_id=case.id,
        )
    await events.emit(
        session, CASE_ESCALATED, "cases", case.id, {"kind": kind, "priority": case.priority}
    )
