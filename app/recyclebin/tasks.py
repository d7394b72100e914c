"""The periodic purge of the recycle bin, a job on the queue (app/jobs): one run per period
across every worker; a run that fails is retried. Each batch is its own transaction, and the
batches lock rows with ``SKIP LOCKED``, so a run that overlaps a manual purge does no harm."""

import logging
from datetime import timedelta

from app import jobs
from app.recyclebin.service import purge_expired

logger = logging.getLogger("accord.recyclebin")

PURGE = "recyclebin.purge"


@jobs.task(PURGE, max_attempts=5, base_delay=60.0, max_delay=1800.0)
async def purge(payload: dict) -> None:
    """Purge what has been in the recycle bin longer than the retention period."""
    settings = jobs.settings()
    counts = await purge_expired(
        jobs.session,
        retention=timedelta(days=settings.recycle_bin_retention_days),
        batch_size=settings.recycle_bin_purge_batch_size,
    )
    if counts:
        logger.info("recycle bin purged", extra={"purged": counts})


# Hourly by default (``recycle_bin_purge_interval_seconds``; 0 turns it off), the first run a
# minute after a worker first sees the schedule.
jobs.periodic(
    PURGE,
    every=lambda s: s.recycle_bin_purge_interval_seconds,
    first_after=60.0,
)

__all__ = ["PURGE", "purge"]
