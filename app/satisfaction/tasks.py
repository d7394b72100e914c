"""The survey email job (queued when a case closes)."""

import uuid

from app import jobs
from app.satisfaction import service


@jobs.task(service.TASK, max_attempts=5)
async def send_survey(payload: dict) -> None:
    async with jobs.session() as s:
        await service.send_survey(s, jobs.settings(), uuid.UUID(payload["case_id"]))
