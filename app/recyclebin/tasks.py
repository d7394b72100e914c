"""The periodic purge of the recycle bin, run by every API process in the background until a job
queue takes it over. A PostgreSQL advisory lock lets only one process purge at a time."""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.recyclebin.service import purge_expired

logger = logging.getLogger("accord.recyclebin")

PURGE_LOCK = 7346001  # pg advisory lock key (migrations use 7346000)
FIRST_RUN_AFTER_SECONDS = 60


async def purge_once(engine: AsyncEngine, settings: Settings) -> dict[str, int] | None:
    """Purge what has expired unless another process is at it (then None)."""
    async with engine.connect() as lock:
        got = await lock.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": PURGE_LOCK})
        await lock.commit()
        if not got:
            return None
        try:
            return await purge_expired(
                engine,
                retention=timedelta(days=settings.recycle_bin_retention_days),
                batch_size=settings.recycle_bin_purge_batch_size,
            )
        finally:
            await lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PURGE_LOCK})
            await lock.commit()


async def run_periodically(engine: AsyncEngine, settings: Settings) -> None:
    """Every ``recycle_bin_purge_interval_seconds``, starting a minute after start-up. Errors are
    logged and the next run tries again."""
    delay = min(FIRST_RUN_AFTER_SECONDS, settings.recycle_bin_purge_interval_seconds)
    while True:
        await asyncio.sleep(delay)
        delay = settings.recycle_bin_purge_interval_seconds
        try:
            counts = await purge_once(engine, settings)
        except Exception:
            logger.exception("recycle bin purge failed")
            continue
        if counts:
            logger.info("recycle bin purged", extra={"purged": counts})


__all__ = ["PURGE_LOCK", "purge_once", "run_periodically"]
