"""The one clock. Everything that compares against "now" asks here, so tests can move time."""

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def advance(delta: timedelta) -> None:
    """Move the clock forward (tests only)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)


def from_timestamp(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
