"""Sent emails in the record's activity history: a completed task of subtype Email (List Email
for a mass email), as Salesforce logs them, written once the mail server accepted the message.

The send job logs the messages of its batch together, after sending them: one statement per
table for up to a batch of tasks, with the field history and change-feed rows every created
record gets (so webhooks and sync see ``task.created`` as for any task). Idempotent: only sent
messages without a task are logged, and a run cut short is completed by the job's retry.
"""

import uuid
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.activities.repository import tasks_resource
from app.email import merge, smtp
from app.kit import clock
from app.kit.ids import new_id
from app.models import EmailMessage, Task, User, UserKind
from app.models.history import Change, FieldHistory

PEOPLE = ("lead", "contact")


def _task_values(message: EmailMessage, task_id: uuid.UUID, owner: uuid.UUID) -> dict[str, Any]:
    ref = "who" if message.related_type in PEOPLE else "what"
    text = message.text_body
    if text is None:
        text = smtp.text_from_html(message.html_body or "")
    now = clock.now()
    values: dict[str, Any] = {
        "id": task_id,
        "owner_id": owner,
        "subject": f"Email: {message.subject}"[:255],
        "subtype": "List Email" if message.mass_email_id is not None else "Email",
        "status": "Completed",
        "is_closed": True,
        "priority": "Normal",
        "due_date": now.date(),
        "description": f"To: {message.to_address}\n\n{text}"[:32000],
        "who_type": None,
        "who_id": None,
        "what_type": None,
        "what_id": None,
        "created_by": message.sent_by,
        "updated_by": message.sent_by,
        "created_at": now,
        "updated_at": now,
    }
    values[f"{ref}_type"] = message.related_type
    values[f"{ref}_id"] = message.related_id
    return values


async def log_sent(session: AsyncSession, message_ids: list[uuid.UUID]) -> int:
    """Log the sent, not yet logged messages among ``message_ids``; how many were logged. The
    task is the sender's (the record owner's when the sender is not an active internal user);
    a record deleted since gets no entry."""
    messages = list(
        await session.scalars(
            select(EmailMessage)
            .where(
                EmailMessage.id.in_(message_ids),
                EmailMessage.status == "sent",
                EmailMessage.task_id.is_(None),
                EmailMessage.related_type.in_(list(merge.RECORDS)),
            )
            .with_for_update(skip_locked=True)
        )
    )
    if not messages:
        return 0
    owners: dict[tuple[str, uuid.UUID], uuid.UUID] = {}
    for kind in {m.related_type for m in messages}:
        model = merge.RECORDS[kind].m
        ids = [m.related_id for m in messages if m.related_type == kind]
        rows = await session.execute(
            select(model.id, model.owner_id).where(model.id.in_(ids), model.deleted_at.is_(None))
        )
        owners.update({(kind, rid): owner for rid, owner in rows.all()})
    senders = {m.sent_by for m in messages if m.sent_by is not None}
    active = set()
    if senders:
        active = set(
            await session.scalars(
                select(User.id).where(
                    User.id.in_(senders), User.is_active, User.kind == UserKind.internal
                )
            )
        )
    now = clock.now()
    tasks, history, changes = [], [], []
    for m in messages:
        owner = owners.get((m.related_type, m.related_id))  # type: ignore[arg-type]
        if owner is None:
            continue
        task_id = new_id()
        tasks.append(_task_values(m, task_id, m.sent_by if m.sent_by in active else owner))
        history.append(
            {
                "id": new_id(),
                "object_type": tasks_resource.object_type,
                "record_id": task_id,
                "field": "created",
                "old_value": None,
                "new_value": None,
                "changed_by": m.sent_by,
                "changed_at": now,
            }
        )
        changes.append(
            {
                "object_type": tasks_resource.object_type,
                "record_id": task_id,
                "op": "create",
                "changed_by": m.sent_by,
                "changed_at": now,
            }
        )
        m.task_id = task_id
    if tasks:
        await session.execute(insert(Task), tasks)
        await session.execute(insert(FieldHistory.__table__), history)
        await session.execute(insert(Change.__table__), changes)
        await session.flush()
    return len(tasks)


__all__ = ["log_sent"]
