"""Escalation: timers set at the due time computed with business hours, re-checked when they
fire (responded, closed, paused, target changed), pausing while waiting on the customer."""

import asyncio
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from app import jobs
from app.cases import hours
from app.jobs.queue import Worker
from app.kit import clock, db
from app.models import Case, Job, Notification
from tests.cases.conftest import _post
from tests.cases.test_cases import _committed_users


async def _drain(session, settings) -> int:
    await session.flush()
    return await jobs.drain(db.savepoint_factory(session.bind), settings=settings)


async def _rule(client, team, entry, **kw):
    return await _post(
        client,
        team.ah,
        "case-escalation-rules",
        {"name": "SLA", "is_active": True, "entries": [entry], **kw},
    )


async def _get(client, team, case):
    r = await client.get(f"/api/v1/cases/{case['id']}", headers=team.ah)
    assert r.status_code == 200
    return r.json()


async def _escalated(session, case) -> bool:
    """Read from the database (tokens expire when the clock jumps an hour)."""
    stmt = select(Case.is_escalated).where(Case.id == uuid.UUID(case["id"]))
    return await session.scalar(stmt.execution_options(populate_existing=True))


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_no_first_response_escalates_at_the_due_time(client, session, team, settings):
    q = await _post(client, team.ah, "queues", {"name": "Tier 2", "owner_id": str(team.a2.id)})
    await _rule(
        client,
        team,
        {
            "first_response_seconds": 60,
            "resolution_seconds": 3600,
            "actions": {"reassign_queue_id": q["id"]},
        },
    )
    case = await _post(client, team.h1, "cases", {"subject": "Down", "priority": "Medium"})
    assert _at(case["first_response_due_at"]) - _at(case["created_at"]) == timedelta(seconds=60)
    await _drain(session, settings)
    assert (await _get(client, team, case))["is_escalated"] is False  # not due yet
    clock.advance(seconds=59)
    await _drain(session, settings)
    assert (await _get(client, team, case))["is_escalated"] is False
    clock.advance(seconds=2)
    await _drain(session, settings)
    after = await _get(client, team, case)
    assert after["is_escalated"] is True and after["priority"] == "High"
    assert after["queue_id"] == q["id"] and after["owner_id"] == str(team.a2.id)
    assert after["first_response_due_at"] is None
    assert after["resolution_due_at"] is not None  # the resolution target still runs
    told = (
        await session.scalars(
            select(Notification.user_id).where(
                Notification.record_id == uuid.UUID(case["id"]),
                Notification.kind == "case.escalated",
            )
        )
    ).all()
    assert set(told) == {team.a1.id, team.a2.id, team.boss.id}  # old and new owner, manager
    clock.advance(seconds=120)
    await _drain(session, settings)
    assert (await _get(client, team, case))["priority"] == "High"  # escalated once


async def test_a_first_response_in_time_stops_the_timer(client, session, team, settings):
    await _rule(client, team, {"first_response_seconds": 60})
    case = await _post(client, team.h1, "cases", {"subject": "Q"})
    await _post(client, team.h1, f"cases/{case['id']}/comments", {"body": "Hi!", "is_public": True})
    assert (await _get(client, team, case))["first_response_due_at"] is None
    clock.advance(seconds=61)
    await _drain(session, settings)
    after = await _get(client, team, case)
    assert after["is_escalated"] is False and after["priority"] == "Medium"


async def test_closed_cases_do_not_escalate_and_reopening_resumes(client, session, team, settings):
    await _rule(client, team, {"resolution_seconds": 100})
    case = await _post(client, team.h1, "cases", {"subject": "Q"})
    clock.advance(seconds=40)
    closed = await _post(client, team.h1, f"cases/{case['id']}/close", {}, 200)
    assert closed["resolution_due_at"] is None and closed["paused_at"] is not None
    clock.advance(seconds=500)
    await _drain(session, settings)
    assert (await _get(client, team, case))["is_escalated"] is False
    reopened = await _post(client, team.h1, f"cases/{case['id']}/reopen", {}, 200)
    # 40 s were used before closing: 60 s remain from now.
    remaining = _at(reopened["resolution_due_at"]) - clock.now()
    assert timedelta(seconds=55) < remaining <= timedelta(seconds=60)
    clock.advance(seconds=61)
    await _drain(session, settings)
    assert (await _get(client, team, case))["is_escalated"] is True


async def test_waiting_on_customer_pauses_the_clock(client, session, team, settings):
    await _rule(client, team, {"resolution_seconds": 100, "first_response_seconds": 1000})
    case = await _post(client, team.h1, "cases", {"subject": "Q"})
    clock.advance(seconds=40)
    r = await client.patch(
        f"/api/v1/cases/{case['id']}", json={"status": "Waiting on Customer"}, headers=team.h1
    )
    assert r.status_code == 200 and r.json()["paused_at"] is not None
    assert r.json()["resolution_due_at"] is None
    clock.advance(seconds=500)
    await _drain(session, settings)  # the old timer fires and finds the case paused
    assert (await _get(client, team, case))["is_escalated"] is False
    r = await client.patch(
        f"/api/v1/cases/{case['id']}", json={"status": "Working"}, headers=team.h1
    )
    resumed = r.json()
    assert resumed["paused_at"] is None
    remaining = _at(resumed["resolution_due_at"]) - clock.now()
    assert timedelta(seconds=55) < remaining <= timedelta(seconds=60)
    clock.advance(seconds=30)
    await _drain(session, settings)
    assert (await _get(client, team, case))["is_escalated"] is False
    clock.advance(seconds=31)
    await _drain(session, settings)
    assert (await _get(client, team, case))["is_escalated"] is True


async def test_changed_target_moves_the_timer(client, session, team, settings):
    rule = await _rule(client, team, {"first_response_seconds": 60})
    case = await _post(client, team.h1, "cases", {"subject": "Q"})
    r = await client.patch(
        f"/api/v1/case-escalation-rules/{rule['id']}",
        json={"entries": [{"first_response_seconds": 3600}]},
        headers=team.ah,
    )
    assert r.status_code == 200, r.text
    moved = await _get(client, team, case)
    assert _at(moved["first_response_due_at"]) - _at(case["created_at"]) == timedelta(hours=1)
    clock.advance(seconds=61)
    await _drain(session, settings)  # the 60 s timer is stale
    assert (await _get(client, team, case))["is_escalated"] is False
    clock.advance(seconds=3600)
    await _drain(session, settings)
    assert await _escalated(session, case) is True


async def test_a_stale_timer_with_a_longer_target_reschedules(client, session, team, settings):
    """A timer that fires after its target was lengthened (the rule row changed without a
    replan, e.g. by a concurrent edit) follows the rule and sets a new timer."""
    rule = await _rule(client, team, {"first_response_seconds": 60})
    case = await _post(client, team.h1, "cases", {"subject": "Q"})
    await session.execute(
        text(
            "UPDATE case_escalation_rules SET entries = "
            "jsonb_set(entries, '{0,first_response_seconds}', '600') WHERE id = :id"
        ),
        {"id": uuid.UUID(rule["id"])},
    )
    clock.advance(seconds=61)
    await _drain(session, settings)
    after = await _get(client, team, case)
    assert after["is_escalated"] is False
    assert _at(after["first_response_due_at"]) - _at(case["created_at"]) == timedelta(seconds=600)
    clock.advance(seconds=540)
    await _drain(session, settings)
    assert (await _get(client, team, case))["is_escalated"] is True


async def test_due_times_follow_business_hours(client, session, team, settings):
    week = {d: [{"start": "09:00", "end": "17:00"}] for d in hours.WEEKDAYS[:5]}
    bh = await _post(
        client,
        team.ah,
        "business-hours",
        {"name": "NY", "time_zone": "America/New_York", "hours": week, "holidays": ["2026-12-25"]},
    )
    await _rule(
        client,
        team,
        {"business_hours_id": bh["id"], "first_response_seconds": 4 * 3600},
    )
    case = await _post(client, team.h1, "cases", {"subject": "Q"})
    cal = hours.Calendar.from_row("America/New_York", week, ["2026-12-25"])
    expected = hours.add(cal, _at(case["created_at"]), 4 * 3600)
    assert _at(case["first_response_due_at"]) == expected
    jobs_due = await session.scalar(
        select(func.min(Job.run_at)).where(Job.name == "cases.escalate")
    )
    assert jobs_due == expected  # the timer is set for exactly then


async def test_escalation_rules_are_admin_only_and_validated(client, team):
    r = await client.post(
        "/api/v1/case-escalation-rules",
        json={"name": "x", "entries": [{"first_response_seconds": 5}]},
        headers=team.h1,
    )
    assert r.status_code == 403
    for entry in (
        {},
        {"first_response_seconds": 0},
        {"first_response_seconds": 5, "business_hours_id": str(uuid.uuid4())},
        {"first_response_seconds": 5, "actions": {"set_priority": "Whenever"}},
        {
            "first_response_seconds": 5,
            "actions": {
                "reassign_user_id": str(team.a1.id),
                "reassign_queue_id": str(uuid.uuid4()),
            },
        },
    ):
        r = await client.post(
            "/api/v1/case-escalation-rules",
            json={"name": "x", "entries": [entry]},
            headers=team.ah,
        )
        assert r.status_code == 422, (entry, r.text)


async def test_timers_fire_at_their_due_time_in_a_running_worker(committed_app, engine, settings):
    """Rules with targets of a few seconds: a real worker escalates each case when it is due,
    not on a periodic sweep."""
    app, http = committed_app
    h_admin, h1, _, _, _ = await _committed_users(app, http)
    rule = await _post(
        http,
        h_admin,
        "case-escalation-rules",
        {
            "name": f"Fast {uuid.uuid4().hex[:6]}",
            "is_active": True,
            "entries": [{"first_response_seconds": 2, "resolution_seconds": 4}],
        },
    )
    worker = Worker(db.session_factory_for(db.make_sessionmaker(engine)), settings, engine=engine)
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.3)
        case = await _post(http, h1, "cases", {"subject": "Timed"})
        created = _at(case["created_at"])
        deadline = time.monotonic() + 12
        got = None
        while time.monotonic() < deadline:
            async with app.state.session_factory() as s:
                got = await s.scalar(select(Case).where(Case.id == uuid.UUID(case["id"])))
                await s.commit()
            if got.resolution_escalated_at is not None:
                break
            await asyncio.sleep(0.1)
        assert got is not None and got.first_response_escalated_at is not None
        first = (got.first_response_escalated_at - created).total_seconds()
        second = (got.resolution_escalated_at - created).total_seconds()
        assert 2.0 <= first < 4.0, first
        assert 4.0 <= second < 6.0, second
        assert got.priority == "High"  # raised twice from Medium, capped at the top
    finally:
        worker.stop()
        await asyncio.wait_for(running, 10)
        async with app.state.session_factory() as s:
            await s.execute(
                text("UPDATE case_escalation_rules SET is_active = false WHERE id = :id"),
                {"id": uuid.UUID(rule["id"])},
            )
            await s.commit()


async def test_an_edit_can_select_another_entry(client, session, team, settings):
    await _post(
        client,
        team.ah,
        "case-escalation-rules",
        {
            "name": "Tiered",
            "is_active": True,
            "entries": [
                {"criteria": {"priority": ["High"]}, "first_response_seconds": 60},
                {"first_response_seconds": 3600},
            ],
        },
    )
    case = await _post(client, team.h1, "cases", {"subject": "Q", "priority": "Low"})
    assert _at(case["first_response_due_at"]) - _at(case["created_at"]) == timedelta(hours=1)
    r = await client.patch(
        f"/api/v1/cases/{case['id']}", json={"priority": "High"}, headers=team.h1
    )
    assert r.status_code == 200, r.text
    due = _at(r.json()["first_response_due_at"]) - _at(case["created_at"])
    assert due == timedelta(seconds=60)
    clock.advance(seconds=61)
    await _drain(session, settings)
    assert await _escalated(session, case) is True


async def test_an_administrator_adds_a_waiting_status(client, session, team, settings):
    r = await client.post(
        "/api/v1/picklists/cases/status/values",
        json={"value": "Pending Vendor", "is_waiting": True},
        headers=team.ah,
    )
    assert r.status_code == 201, r.text
    assert r.json()["is_waiting"] is True and r.json()["is_closed"] is False
    r = await client.post(
        "/api/v1/picklists/leads/status/values",
        json={"value": "Parked", "is_waiting": True},
        headers=team.ah,
    )
    assert r.status_code == 422  # the attribute belongs to case statuses
    await _rule(client, team, {"resolution_seconds": 100})
    case = await _post(client, team.h1, "cases", {"subject": "Q"})
    r = await client.patch(
        f"/api/v1/cases/{case['id']}", json={"status": "Pending Vendor"}, headers=team.h1
    )
    assert r.json()["paused_at"] is not None and r.json()["resolution_due_at"] is None
    clock.advance(seconds=200)
    await _drain(session, settings)
    assert await _escalated(session, case) is False
