"""Business-time arithmetic across nights, weekends, holidays and DST."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.cases import hours

NINE_TO_FIVE = {d: [{"start": "09:00", "end": "17:00"}] for d in hours.WEEKDAYS[:5]}
PARIS = ZoneInfo("Europe/Paris")


def cal(zone="Europe/Paris", week=None, holidays=()):
    return hours.Calendar.from_row(zone, week or NINE_TO_FIVE, list(holidays))


def local(*args, zone=PARIS):
    return datetime(*args, tzinfo=zone)


def test_no_calendar_counts_every_second():
    start = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert hours.add(None, start, 90) == start + timedelta(seconds=90)
    assert hours.between(None, start, start + timedelta(hours=2)) == 7200


def test_within_the_same_day():
    start = local(2026, 11, 23, 10)  # a Monday
    assert hours.add(cal(), start, 3600) == local(2026, 11, 23, 11)


def test_across_the_night():
    start = local(2026, 11, 23, 16, 30)
    assert hours.add(cal(), start, 3600) == local(2026, 11, 24, 9, 30)


def test_start_before_opening_and_exactly_at_closing():
    assert hours.add(cal(), local(2026, 11, 23, 6), 60) == local(2026, 11, 23, 9, 1)
    # Ending exactly at closing time is on that day, not the next morning.
    assert hours.add(cal(), local(2026, 11, 23, 16), 3600) == local(2026, 11, 23, 17)


def test_across_the_weekend():
    friday = local(2026, 11, 27, 16)
    assert hours.add(cal(), friday, 2 * 3600) == local(2026, 11, 30, 10)
    saturday = local(2026, 11, 28, 12)
    assert hours.add(cal(), saturday, 1) == local(2026, 11, 30, 9, 0, 1)


def test_holidays_are_skipped():
    c = cal(holidays=["2026-12-25"])  # a Friday
    start = local(2026, 12, 24, 16)
    assert hours.add(c, start, 2 * 3600) == local(2026, 12, 28, 10)


def test_several_spans_a_day():
    week = {"monday": [{"start": "13:00", "end": "17:00"}, {"start": "08:00", "end": "12:00"}]}
    c = cal(zone="UTC", week=week)
    start = datetime(2026, 11, 23, 11, tzinfo=UTC)
    assert hours.add(c, start, 2 * 3600) == datetime(2026, 11, 23, 14, tzinfo=UTC)
    # The next Monday after the last span.
    assert hours.add(c, start, 6 * 3600) == datetime(2026, 11, 30, 9, tzinfo=UTC)


def test_dst_spring_forward_day_is_shorter():
    # Paris: 2026-03-29 02:00 -> 03:00. Open all Sunday: that day holds 23 hours.
    c = cal(week={"sunday": [{"start": "00:00", "end": "24:00"}]})
    start = local(2026, 3, 29, 0)
    assert hours.between(c, start, local(2026, 3, 30, 0)) == 23 * 3600
    assert hours.add(c, start, 23 * 3600) == local(2026, 3, 30, 0)
    assert hours.add(c, start, 3 * 3600) == local(2026, 3, 29, 4)  # 01:00, 03:00, 04:00


def test_dst_fall_back_day_is_longer():
    c = cal(week={"sunday": [{"start": "00:00", "end": "24:00"}]})
    start = local(2026, 10, 25, 0)
    assert hours.between(c, start, local(2026, 10, 26, 0)) == 25 * 3600


def test_hours_are_local_to_the_zone_in_both_seasons():
    c = cal()
    winter = hours.add(c, datetime(2026, 1, 5, 7, tzinfo=UTC), 60)  # 08:00 in Paris
    summer = hours.add(c, datetime(2026, 7, 6, 6, tzinfo=UTC), 60)  # 08:00 in Paris
    assert winter == datetime(2026, 1, 5, 8, 1, tzinfo=UTC)
    assert summer == datetime(2026, 7, 6, 7, 1, tzinfo=UTC)


def test_between_is_the_inverse_of_add():
    c = cal(holidays=["2026-12-25"])
    start = local(2026, 12, 23, 15, 17)
    for seconds in (1, 3600, 8 * 3600, 3 * 8 * 3600 + 17):
        assert hours.between(c, start, hours.add(c, start, seconds)) == pytest.approx(seconds)
    assert hours.between(c, local(2026, 11, 28, 10), local(2026, 11, 29, 10)) == 0


def _paris_office() -> dict:
    return {
        "name": "Paris office",
        "time_zone": "Europe/Paris",
        "hours": {d: [{"start": "09:00", "end": "17:00"}] for d in hours.WEEKDAYS[:5]},
        "holidays": ["2026-12-25"],
    }


async def test_business_hours_api(client, team):
    body = _paris_office()
    r = await client.post("/api/v1/business-hours", json=body, headers=team.ah)
    assert r.status_code == 201, r.text
    bh = r.json()
    assert bh["holidays"] == ["2026-12-25"] and bh["hours"]["saturday"] is None
    r = await client.post(
        f"/api/v1/business-hours/{bh['id']}/add",
        json={"start": "2026-12-24T15:30:00Z", "seconds": 3600},
        headers=team.h1,
    )
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["due_at"]) == local(2026, 12, 28, 9, 30)
    for bad in (
        {**body, "time_zone": "Mars/Olympus"},
        {**body, "hours": {}},
        {**body, "hours": {"monday": [{"start": "18:00", "end": "09:00"}]}},
        {**body, "hours": {"monday": [{"start": "9am", "end": "17:00"}]}},
        {
            **body,
            "hours": {
                "monday": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "17:00"}]
            },
        },
    ):
        r = await client.post("/api/v1/business-hours", json=bad, headers=team.ah)
        assert r.status_code == 422, (bad, r.text)
    r = await client.post("/api/v1/business-hours", json=body, headers=team.h1)
    assert r.status_code == 403  # agents read, administrators change
    r = await client.post(
        f"/api/v1/business-hours/{bh['id']}/add",
        json={"start": "2026-12-24T15:00:00", "seconds": 1},
        headers=team.h1,
    )
    assert r.status_code == 422  # no offset
