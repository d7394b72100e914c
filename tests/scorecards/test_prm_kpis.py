"""The scorecard KPIs that come from deal registration and lead distribution: deals registered,
leads accepted and the response time to lead offers, per partner, from the data."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.kit import clock
from app.models import LeadOffer
from tests.deals.world import deal
from tests.distribution.world import make_lead, make_world, post


@pytest.fixture
async def world(client, session):
    return await make_world(client, session)


async def _card(client, h, partner_id) -> dict[str, dict]:
    today = clock.now().date().isoformat()
    r = await client.get(
        f"/api/v1/partners/{partner_id}/scorecard",
        params={"period_start": today, "period_end": today},
        headers=h,
    )
    assert r.status_code == 200, r.text
    return {k["name"]: k for k in r.json()["kpis"]}


async def _offer(client, w, partner_id) -> str:
    lead = await make_lead(client, w.ch)
    out = await post(client, w.ch, f"leads/{lead['id']}/offers", {"partner_account_id": partner_id})
    return out["offers"][0]["id"]


async def _offered_hours_ago(session, offer_id: str, hours: int) -> None:
    await session.execute(
        update(LeadOffer)
        .where(LeadOffer.id == uuid.UUID(offer_id))
        .values(offered_at=LeadOffer.offered_at - timedelta(hours=hours))
    )


async def test_deals_registered_leads_accepted_and_response_time(client, session, world):
    w = world
    await post(client, w.a.rh, "deal-registrations", deal("Acme Corp."))
    await post(client, w.a.mh, "deal-registrations", deal("Globex Inc."))
    draft = deal("Initech LLC", draft=True)
    await post(client, w.a.rh, "deal-registrations", draft)  # a draft is not registered yet
    await post(client, w.b.rh, "deal-registrations", deal("Umbrella GmbH"))

    first = await _offer(client, w, w.a.id)
    second = await _offer(client, w, w.a.id)
    await _offered_hours_ago(session, first, 2)
    await _offered_hours_ago(session, second, 4)
    r = await client.post(f"/api/v1/lead-offers/{first}/accept", headers=w.a.rh)
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/lead-offers/{second}/decline", json={"reason": "Out of area"}, headers=w.a.mh
    )
    assert r.status_code == 200, r.text

    a = await _card(client, w.ch, w.a.id)
    assert a["deals_registered"]["actual"] == "2"
    assert a["leads_accepted"]["actual"] == "1"
    assert a["offer_response_time"]["actual"] == "3.00"  # (2 h + 4 h) / 2
    assert a["offer_response_time"]["unit"] == "hours"
    b = await _card(client, w.b.mh, w.b.id)
    assert b["deals_registered"]["actual"] == "1"
    assert b["leads_accepted"]["actual"] == "0"
    assert b["offer_response_time"]["actual"] is None
    # Yesterday's period holds none of it.
    yesterday = (clock.now() - timedelta(days=1)).date().isoformat()
    r = await client.get(
        f"/api/v1/partners/{w.a.id}/scorecard",
        params={"period_start": yesterday, "period_end": yesterday},
        headers=w.ch,
    )
    old = {k["name"]: k for k in r.json()["kpis"]}
    assert old["deals_registered"]["actual"] == "0" and old["leads_accepted"]["actual"] == "0"
