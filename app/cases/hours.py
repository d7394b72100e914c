"""Business-time arithmetic: adding N business seconds to an instant, and counting the business
seconds between two instants, for a calendar of weekly opening hours in a time zone with
holidays.

Times are computed in the calendar's zone (``zoneinfo``) and measured as real elapsed time, so
a day on which the clocks change has its true length: opening hours 01:00-04:00 on the night
clocks go forward hold two hours, not three. A wall time that does not exist (skipped by DST)
is taken as the first instant after the gap; one that occurs twice as its first occurrence.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# A calendar with no opening hours in this many days is refused (and never loops forever).
HORIZON_DAYS = 3660


@dataclass(frozen=True, slots=True)
class Calendar:
    zone: ZoneInfo
    # Per weekday (Monday = 0): (start, end) wall times; end None = midnight at the day's end.
    hours: tuple[tuple[tuple[time, time | None], ...], ...]
    holidays: frozenset[date]

    @classmethod
    def from_row(cls, time_zone: str, hours: dict[str, Any], holidays: list[str]) -> "Calendar":
        per_day = []
        for name in WEEKDAYS:
            spans = []
            for span in hours.get(name) or []:
                start = time.fromisoformat(span["start"])
                end = (
                    None
                    if span["end"] in ("24:00", "24:00:00")
                    else time.fromisoformat(span["end"])
                )
                spans.append((start, end))
            per_day.append(tuple(sorted(spans)))
        return cls(
            ZoneInfo(time_zone), tuple(per_day), frozenset(map(date.fromisoformat, holidays))
        )

    def _instant(self, day: date, at: time | None) -> datetime:
        if at is None:
            day, at = day + timedelta(days=1), time(0)
        local = datetime.combine(day, at, tzinfo=self.zone)
        # A wall time skipped by DST does not round-trip: take the end of the gap.
        utc = local.astimezone(UTC)
        if utc.astimezone(self.zone).replace(tzinfo=None) != local.replace(tzinfo=None):
            utc = local.replace(fold=1).astimezone(UTC)
        return utc

    def spans(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open periods (UTC) that end after ``start``, in order, clipped to begin at it."""
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(HORIZON_DAYS):
            if day not in self.holidays:
                for open_at, close_at in self.hours[day.weekday()]:
                    a, b = self._instant(day, open_at), self._instant(day, close_at)
                    if b > start and b > a:
                        yield max(a, start), b
            day += timedelta(days=1)


def add(calendar: Calendar | None, start: datetime, seconds: float) -> datetime:
    """The instant when ``seconds`` of business time have passed after ``start``."""
    if calendar is None:
        return start + timedelta(seconds=seconds)
    left = timedelta(seconds=seconds)
    for a, b in calendar.spans(start):
        if b - a >= left:
            return a + left
        left -= b - a
    raise ValueError("the business hours have no open time in the coming years")


def between(calendar: Calendar | None, start: datetime, end: datetime) -> float:
    """Business seconds from ``start`` to ``end`` (0 if ``end`` is not after ``start``)."""
    if end <= start:
        return 0.0
    if calendar is None:
        return (end - start).total_seconds()
    total = timedelta(0)
    for a, b in calendar.spans(start):
        if a >= end:
            break
        total += min(b, end) - a
    return total.total_seconds()


__all__ = ["WEEKDAYS", "Calendar", "add", "between"]
