"""In-app notifications. Other modules call :func:`notify` inside their own transaction, so a
notification exists exactly when the change it tells of was committed (a job that is retried
after a rollback notifies once)."""

import uuid

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.kit.ids import new_id
from app.models import Notification


async def notify(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    kind: str,
    title: str,
    body: str = "",
    link: str | None = None,
    object_type: str | None = None,
    record_id: uuid.UUID | None = None,
) -> None:
    """Tell ``user_id`` that something happened: ``kind`` is a stable dotted name
    (``webhook.disabled``), ``link`` where to look (an API path or a URL), ``object_type`` and
    ``record_id`` the record it is about."""
    await session.execute(
        insert(Notification).values(
            id=new_id(),
            user_id=user_id,
            kind=kind[:80],
            title=title[:255],
            body=body,
            link=link[:2048] if link else None,
            object_type=object_type,
            record_id=record_id,
            created_at=clock.now(),
        )
    )


__all__ = ["notify"]
