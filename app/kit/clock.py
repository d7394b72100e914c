"""The one clock. Everything that compares against "now" asks here, so tests can move time."""

import time
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def timestamp() -> float:
    """``now().timestamp()`` without building the datetime (every token check asks)."""
    return time.time() + _offset.total_seconds()


def advance(delta: timedelta | None = None, **parts: float) -> None:
    """Move the clock forward (tests only): ``advance(timedelta(hours=1))`` or
    ``advance(days=16)``."""
    global _offset
    _offset += (delta or timedelta(0)) + timedelta(**parts)


def reset() -> None:
    global _offset
    _offset = timedelta(0)


def from_timestamp(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
