"""The claw-back job: ``distribution.expire`` with ``{"offer_id": ...}``, enqueued with
``run_at`` = the offer's ``expires_at`` in the transaction that makes (or extends) the offer, so
it fires at its due time (the queue's timers), not on a periodic sweep. It re-checks the offer
under the lead's lock, so a run for an offer answered or extended meanwhile does nothing."""

import uuid

from app import jobs
from app.distribution import service


@jobs.task(service.EXPIRE_TASK, max_attempts=20, base_delay=1.0, max_delay=60.0)
async def expire_offer(payload: dict) -> None:
    async with jobs.session() as s:
        await service.expire(s, uuid.UUID(payload["offer_id"]))
