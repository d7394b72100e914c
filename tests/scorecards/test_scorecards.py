"""Channel account plans (KPI targets per partner and period) and the partner scorecard: actuals
computed from the data, attainment against the plan, each partner its own only."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from app.kit import clock
from app.models import Lead, PartnerPlan
from app.scorecards import kpis
from tests.factories import make_user, user_token
from tests.mdf.world import World, make_world, post

PERIOD = {"period_start": "2027-01-01", "period_end": "2027-03-31"}


@pytest.fixture
async def world(client, session) -> World:
    return await make_world(client, session)


def plan_body(partner_id: str, **kw) -> dict:
    return {
        "name": "Q1 plan",
        "partner_account_id": partner_id,
        **PERIOD,
        "targets": {"revenue": "100000.00", "win_rate": "50", "leads_converted": "4"},
        **kw,
    }


async def _opp(client, h, partner_id, amount, stage, close_date="2027-02-15"):
    body = {
        "name": f"Deal {uuid.uuid4().hex[:6]}",
        "amount": amount,
        "stage": stage,
        "close_date": close_date,
        "partner_account_id": partner_id,
    }
    return await post(client, h, "opportunities", body)


async def _converted_lead(client, session, h, partner_id, when: datetime):
    lead = await post(
        client,
        h,
        "leads",
        {"last_name": "Buyer", "company": "Co", "partner_account_id": partner_id},
    )
    await session.execute(
        update(Lead)
        .where(Lead.id == uuid.UUID(lead["id"]))
        .values(is_converted=True, converted_at=when)
    )


@pytest.fixture
async def data(client, session, world):
    """Alpha: in Q1 won 60k + 30k, lost one, one won after the period; 2 leads converted in Q1
    and one in April. Bravo: a big win that must not count for Alpha."""
    a, b = world.a.id, world.b.id
    await _opp(client, world.ch, a, "60000.00", "Closed Won")
    await _opp(client, world.ch, a, "30000.00", "Closed Won", "2027-03-31")
    await _opp(client, world.ch, a, "99000.00", "Closed Lost")
    await _opp(client, world.ch, a, "77000.00", "Closed Won", "2027-04-01")
    await _opp(client, world.ch, a, "5000.00", "Prospecting")
    await _opp(client, world.ch, b, "500000.00", "Closed Won")
    for when in (
        datetime(2027, 1, 1, 0, 0, tzinfo=UTC),
        datetime(2027, 3, 31, 23, 59, tzinfo=UTC),
        datetime(2027, 4, 1, 0, 0, tzinfo=UTC),
    ):
        await _converted_lead(client, session, world.ch, a, when)


def _kpis(card: dict) -> dict[str, dict]:
    return {k["name"]: k for k in card["kpis"]}


async def test_scorecard_compares_plan_targets_with_actuals(client, world, data):
    plan = await post(client, world.ch, "partner-plans", plan_body(world.a.id))
    assert plan["targets"] == {"revenue": "100000.00", "win_rate": "50", "leads_converted": "4"}
    r = await client.get(
        f"/api/v1/partners/{world.a.id}/scorecard", params=PERIOD, headers=world.ch
    )
    assert r.status_code == 200, r.text
    card = r.json()
    assert card["plan_id"] == plan["id"] and card["partner_name"] == "Alpha"
    k = _kpis(card)
    assert k["revenue"]["actual"] == "90000.00" and k["revenue"]["target"] == "100000.00"
    assert Decimal(k["revenue"]["attainment_percent"]) == Decimal("90.0")
    assert Decimal(k["win_rate"]["actual"]) == Decimal("66.67")  # 2 won of 3 closed
    assert Decimal(k["win_rate"]["attainment_percent"]) == Decimal("133.3")
    assert Decimal(k["leads_converted"]["actual"]) == 2
    assert Decimal(k["leads_converted"]["attainment_percent"]) == Decimal("50.0")
    # The plan's own scorecard is the same thing.
    r = await client.get(f"/api/v1/partner-plans/{plan['id']}/scorecard", headers=world.a.rh)
    assert r.status_code == 200 and r.json() == card


async def test_scorecard_without_a_plan_has_actuals_but_no_targets(client, world, data):
    params = {"period_start": "2027-04-01", "period_end": "2027-04-30"}
    r = await client.get(
        f"/api/v1/partners/{world.a.id}/scorecard", params=params, headers=world.a.mh
    )
    assert r.status_code == 200
    k = _kpis(r.json())
    assert r.json()["plan_id"] is None
    assert k["revenue"]["actual"] == "77000.00" and k["revenue"]["target"] is None
    assert k["revenue"]["attainment_percent"] is None
    assert Decimal(k["leads_converted"]["actual"]) == 1
    # Nothing closed in a period: no win rate rather than a division by zero.
    r = await client.get(
        f"/api/v1/partners/{world.b.id}/scorecard",
        params={"period_start": "2026-01-01", "period_end": "2026-01-31"},
        headers=world.ch,
    )
    assert _kpis(r.json())["win_rate"]["actual"] is None


async def test_partners_read_only_their_own_scorecard_and_plans(client, world, data):
    plan = await post(client, world.ch, "partner-plans", plan_body(world.a.id))
    url = f"/api/v1/partners/{world.a.id}/scorecard"
    for h in (world.a.mh, world.a.rh, world.ch):
        assert (await client.get(url, params=PERIOD, headers=h)).status_code == 200
    for h in (world.b.mh, world.b.rh):
        r = await client.get(url, params=PERIOD, headers=h)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        r = await client.get(f"/api/v1/partner-plans/{plan['id']}", headers=h)
        assert r.status_code == 404
        r = await client.get(f"/api/v1/partner-plans/{plan['id']}/scorecard", headers=h)
        assert r.status_code == 404
        assert (await client.get("/api/v1/partner-plans", headers=h)).json()["data"] == []
    listed = (await client.get("/api/v1/partner-plans", headers=world.a.rh)).json()["data"]
    assert [p["id"] for p in listed] == [plan["id"]]
    assert (await client.get(url, params=PERIOD)).status_code == 401


async def test_partners_cannot_set_targets(client, session, world):
    plan = await post(client, world.ch, "partner-plans", plan_body(world.a.id))
    r = await client.post("/api/v1/partner-plans", json=plan_body(world.a.id), headers=world.a.mh)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    # Even a partner token that somehow held partners:write cannot change a plan.
    writer = await user_token(client, session, world.a.manager, "partners:read partners:write")
    r = await client.patch(
        f"/api/v1/partner-plans/{plan['id']}",
        json={"targets": {"revenue": "1.00"}},
        headers=writer,
    )
    assert r.status_code in (403, 404)
    got = await client.get(f"/api/v1/partner-plans/{plan['id']}", headers=world.ch)
    assert got.json()["targets"]["revenue"] == "100000.00" and got.json()["version"] == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"targets": {"happiness": "10"}}, "targets.happiness"),
        ({"targets": {"revenue": "-1"}}, "targets.revenue"),
        ({"targets": {"revenue": "abc"}}, "targets.revenue"),
        ({"period_end": "2026-12-31"}, "period_end"),
        ({"partner_account_id": "not-a-uuid"}, "partner_account_id"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_plans_are_422_and_create_nothing(client, session, world, change, field):
    r = await client.post(
        "/api/v1/partner-plans", json=plan_body(world.a.id, **change), headers=world.ch
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    count = select(func.count()).where(PartnerPlan.partner_account_id == uuid.UUID(world.a.id))
    assert await session.scalar(count) == 0


async def test_one_plan_per_partner_and_period(client, world):
    await post(client, world.ch, "partner-plans", plan_body(world.a.id))
    r = await client.post("/api/v1/partner-plans", json=plan_body(world.a.id), headers=world.ch)
    assert r.status_code == 409
    await post(client, world.ch, "partner-plans", plan_body(world.b.id))


async def test_period_defaults_to_the_plan_covering_today(client, world):
    today = clock.now().date()
    url = f"/api/v1/partners/{world.a.id}/scorecard"
    r = await client.get(url, headers=world.ch)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "period_start"
    period = {
        "period_start": (today - timedelta(days=10)).isoformat(),
        "period_end": (today + timedelta(days=20)).isoformat(),
    }
    await post(client, world.ch, "partner-plans", plan_body(world.a.id, **PERIOD))
    plan = await post(client, world.ch, "partner-plans", plan_body(world.a.id, **period))
    r = await client.get(url, headers=world.a.rh)
    assert r.status_code == 200 and r.json()["plan_id"] == plan["id"]
    assert r.json()["period_end"] == period["period_end"]


@pytest.mark.parametrize(
    "params",
    [
        {"period_start": "2027-01-01"},
        {"period_start": "2027-02-01", "period_end": "2027-01-01"},
        {"period_start": "yesterday", "period_end": "2027-01-01"},
    ],
)
async def test_bad_periods_are_422(client, world, params):
    r = await client.get(
        f"/api/v1/partners/{world.a.id}/scorecard", params=params, headers=world.ch
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem")


async def test_scorecard_of_a_non_partner_or_missing_scope(client, session, world):
    plain = await post(client, world.ch, "accounts", {"name": "Customer"})
    r = await client.get(
        f"/api/v1/partners/{plain['id']}/scorecard", params=PERIOD, headers=world.ch
    )
    assert r.status_code == 404
    user = await make_user(session)
    h = await user_token(client, session, user, "accounts:read")
    r = await client.get(f"/api/v1/partners/{world.a.id}/scorecard", params=PERIOD, headers=h)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"


async def test_a_kpi_registered_later_is_scored_and_targetable(client, world):
    @kpis.kpi("quote_turnaround", "Quote turnaround", unit="hours", higher_is_better=False)
    async def response_time(session, partner_account_id, start, end):
        return Decimal("8")

    try:
        listed = (await client.get("/api/v1/kpis", headers=world.a.rh)).json()["data"]
        assert "quote_turnaround" in [k["name"] for k in listed]
        body = plan_body(world.a.id, targets={"quote_turnaround": "24"})
        await post(client, world.ch, "partner-plans", body)
        r = await client.get(
            f"/api/v1/partners/{world.a.id}/scorecard", params=PERIOD, headers=world.a.rh
        )
        k = _kpis(r.json())["quote_turnaround"]
        assert Decimal(k["actual"]) == 8 and Decimal(k["target"]) == 24
        assert Decimal(k["attainment_percent"]) == Decimal("300.0")  # faster than the target
    finally:
        kpis.KPIS.pop("quote_turnaround")
