"""Fixed-window rate limits kept in PostgreSQL (``rate_limit_counters``), so every API process
counts the same hits. One statement per check: an upsert that starts a new window when the old
one has passed and returns the count."""

from datetime import timedelta

from sqlalchemy import case, literal
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.kit.errors import TooManyRequests
from app.models import RateLimitCounter


async def hit(session: AsyncSession, key: str, limit: int, window: timedelta) -> None:
    """Count one hit of ``key``; 429 ``rate_limited`` with ``Retry-After`` past ``limit`` hits
    in the window. The refusal is committed too (``persist``): hammering keeps the window full."""
    now = clock.now()
    stale = RateLimitCounter.window_start <= literal(now - window)
    stmt = insert(RateLimitCounter).values(key=key[:400], window_start=now, hits=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[RateLimitCounter.key],
        set_={
            "hits": case((stale, 1), else_=RateLimitCounter.hits + 1),
            "window_start": case((stale, now), else_=RateLimitCounter.window_start),
        },
    ).returning(RateLimitCounter.hits, RateLimitCounter.window_start)
    hits, started = (await session.execute(stmt)).one()
    if hits > limit:
        retry = max(1, int((started + window - now).total_seconds()) + 1)
        raise TooManyRequests(
            "Too many attempts; try again later",
            headers={"Retry-After": str(retry)},
            persist=True,
        )
