"""The protection timer: ``deal_registrations.expire`` runs at the end of a registration's time
frame (enqueued with ``run_at`` on approval and on every extension) and expires it if it is
still approved and its time frame has really ended; otherwise it does nothing."""

import uuid

from app import jobs
from app.deals import service


@jobs.task(service.EXPIRE_TASK, max_attempts=10, base_delay=1.0, max_delay=300.0)
async def expire(payload: dict) -> None:
    async with jobs.session() as session:
        await service.expire(session, uuid.UUID(payload["id"]))
