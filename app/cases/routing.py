"""Case assignment rules: on creation, the entries of the active rule are tried in order and the
first whose criteria match decides where the case goes (Salesforce: one active rule, first match
wins; no match leaves the case with its creator, the default owner).

Targets: an agent; a queue, where the case waits (owned by the queue's owner, ``queue_id`` set)
until a member accepts it; or an agent of a queue chosen by round robin (the member after the
one who got the last case, under a lock on the queue row so concurrent cases take turns) or by
least open cases (ties to the earlier member). The reassignment goes through ``Records.change``,
so it is in the case's field history and the change feed, inside the creating transaction.
"""

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import jobs
from app.auth.principal import Principal
from app.cases import criteria
from app.models import Case, CaseAssignmentRule, Contact, Queue, User, UserKind
from app.notifications.service import notify

AUTO_RESPONSE_TASK = "cases.auto_response"


# One rule is active; restoring a deleted one may make two: the latest change wins.
async def active_rule(session: AsyncSession) -> CaseAssignmentRule | None:
    return await session.scalar(
        select(CaseAssignmentRule)
        .where(CaseAssignmentRule.is_active.is_(True), CaseAssignmentRule.deleted_at.is_(None))
        .order_by(CaseAssignmentRule.updated_at.desc())
        .limit(1)
    )


async def active_members(session: AsyncSession, queue: Queue) -> list[uuid.UUID]:
    """The queue's members who are active internal users, in the queue's order."""
    ids = [uuid.UUID(x) for x in queue.member_ids]
    if not ids:
        return []
    active = set(
        (
            await session.scalars(
                select(User.id).where(
                    User.id.in_(ids), User.is_active.is_(True), User.kind == UserKind.internal
                )
            )
        ).all()
    )
    return [i for i in ids if i in active]


async def _round_robin(queue: Queue, members: list[uuid.UUID]) -> uuid.UUID:
    if queue.last_assigned_id in members:
        return members[(members.index(queue.last_assigned_id) + 1) % len(members)]
    return members[0]


async def _least_open(session: AsyncSession, members: list[uuid.UUID]) -> uuid.UUID:
    counts = dict(
        (
            await session.execute(
                select(Case.owner_id, func.count())
                .where(
                    Case.owner_id.in_(members),
                    Case.is_closed.is_(False),
                    Case.deleted_at.is_(None),
                )
                .group_by(Case.owner_id)
            )
        ).all()
    )
    return min(members, key=lambda m: (counts.get(m, 0), members.index(m)))


async def target(session: AsyncSession, entry: dict[str, Any]) -> dict[str, Any] | None:
    """Owner and queue for an entry's target; None when it cannot take cases now (an inactive
    user, a deleted queue)."""
    if entry.get("user_id"):
        user = await session.scalar(
            select(User.id).where(
                User.id == uuid.UUID(entry["user_id"]),
                User.is_active.is_(True),
                User.kind == UserKind.internal,
            )
        )
        return None if user is None else {"owner_id": user, "queue_id": None}
    queue = await session.scalar(
        select(Queue)
        .where(Queue.id == uuid.UUID(entry["queue_id"]), Queue.deleted_at.is_(None))
        .with_for_update()
    )
    if queue is None:
        return None
    mode = entry.get("distribution", "queue")
    members = await active_members(session, queue) if mode != "queue" else []
    if not members:
        return {"owner_id": queue.owner_id, "queue_id": queue.id}
    if mode == "round_robin":
        agent = await _round_robin(queue, members)
        queue.last_assigned_id = agent
    else:
        agent = await _least_open(session, members)
    await session.flush()
    return {"owner_id": agent, "queue_id": None}


async def assign(session: AsyncSession, principal: Principal, case: Case) -> None:
    """Apply the active assignment rule to a new case (in the creating transaction)."""
    from app.cases.repository import cases  # the resource module imports this one

    rule = await active_rule(session)
    if rule is None:
        return
    tier = await criteria.account_tier(session, case)
    for entry in rule.entries:
        if criteria.matches(entry.get("criteria"), case, tier):
            break
    else:
        return
    where = await target(session, entry)
    if where is not None and (
        where["owner_id"] != case.owner_id or where["queue_id"] != case.queue_id
    ):
        await cases.change(session, principal, case, where)
        if where["queue_id"] is None and where["owner_id"] != principal.user_id:
            await notify(
                session,
                where["owner_id"],
                kind="case.assigned",
                title=f"Case {case.case_number} was assigned to you",
                link=f"/api/v1/cases/{case.id}",
                object_type="cases",
                record_id=case.id,
            )
    if entry.get("template_id"):
        await auto_response(session, case, entry["template_id"])


async def auto_response(session: AsyncSession, case: Case, template_id: str) -> None:
    """Queue the auto-response to the customer: the contact's address, else the supplied one.
    Rendered and sent by a job, so a broken template never fails the case's creation."""
    to = None
    if case.contact_id is not None:
        person = (
            await session.execute(
                select(Contact.email, Contact.has_opted_out_of_email).where(
                    Contact.id == case.contact_id
                )
            )
        ).first()
        if person is not None and person.has_opted_out_of_email:
            return
        to = person.email if person is not None else None
    to = to or case.supplied_email
    if to:
        await jobs.enqueue(
            session,
            AUTO_RESPONSE_TASK,
            {
                "case_id": str(case.id),
                "template_id": template_id,
                "to": to,
                "contact_id": str(case.contact_id) if case.contact_id else None,
            },
        )
