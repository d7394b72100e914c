"""Claw-back and redistribution: the expiry job runs at the offer's due time (the test moves
the service clock and runs due jobs on its own connection), and distribution rules."""

import uuid
from datetime import datetime

import pytest
from sqlalchemy import select

from app import jobs
from app.kit import clock, db
from app.models import LeadOffer, Notification
from app.models.jobs import Job
from tests.distribution.world import World, make_lead, make_world, post


@pytest.fixture
async def world(client, session) -> World:
    return await make_world(client, session)


@pytest.fixture
def run_jobs(session, settings, monkeypatch):
    # The email.send jobs the offers make go nowhere (a closed port): they just retry later.
    quiet = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9})
    monkeypatch.setattr("app.email.tasks.settings", lambda: quiet)

    async def run() -> int:
        await session.flush()
        return await jobs.drain(db.savepoint_factory(session.bind), settings=settings)

    return run


async def _offers(session, lead_id: str) -> list[LeadOffer]:
    rows = await session.scalars(
        select(LeadOffer)
        .where(LeadOffer.lead_id == uuid.UUID(lead_id))
        .order_by(LeadOffer.offered_at, LeadOffer.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def _rule(client, w: World, status=201, **body):
    base = {"name": "US widgets", "partner_account_ids": [w.a.id, w.b.id], "time_limit_seconds": 60}
    return await post(client, w.ch, "distribution-rules", {**base, **body}, status)


async def test_expiry_job_is_scheduled_at_the_due_time(client, session, world):
    w = world
    lead = await make_lead(client, w.ch)
    out = await post(
        client,
        w.ch,
        f"leads/{lead['id']}/offers",
        {"partner_account_id": w.a.id, "time_limit_seconds": 5},
    )
    (offer,) = out["offers"]
    job = await session.scalar(
        select(Job).where(
            Job.name == "distribution.expire", Job.payload["offer_id"].astext == offer["id"]
        )
    )
    assert job is not None
    assert job.run_at == datetime.fromisoformat(offer["expires_at"])


async def test_unanswered_offer_is_clawed_back_and_redistributed_by_rule(
    client, session, world, run_jobs
):
    w = world
    await _rule(client, w)
    lead = await make_lead(client, w.ch)
    out = await post(client, w.ch, f"leads/{lead['id']}/distribute", None)
    (first,) = out["offers"]
    assert first["partner_account_id"] == w.a.id and first["rule_id"] is not None

    await run_jobs()  # not due yet: nothing happens
    (only,) = await _offers(session, lead["id"])
    assert only.status == "offered"

    clock.advance(seconds=61)
    await run_jobs()
    a_offer, b_offer = await _offers(session, lead["id"])
    assert a_offer.status == "expired" and a_offer.responded_at is None
    assert b_offer.status == "offered" and str(b_offer.partner_account_id) == w.b.id
    # Alpha lost it: accepting now is a 409; Bravo has it in its inbox.
    r = await client.post(f"/api/v1/lead-offers/{a_offer.id}/accept", headers=w.a.mh)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    (item,) = (await client.get("/api/v1/lead-inbox", headers=w.b.rh)).json()["data"]
    assert item["id"] == str(b_offer.id)
    kinds = set(
        await session.scalars(select(Notification.kind).where(Notification.user_id == w.cm.id))
    )
    assert "lead_offer.redistributed" in kinds

    # Bravo lets it lapse too: nobody is left, the lead is back with the vendor.
    clock.advance(seconds=61)
    await run_jobs()
    offers = await _offers(session, lead["id"])
    assert [o.status for o in offers] == ["expired", "expired"]
    kinds = set(
        await session.scalars(select(Notification.kind).where(Notification.user_id == w.cm.id))
    )
    assert "lead_offer.returned" in kinds
    # ... and can be distributed again only to partners that have not had it.
    r = await client.post(f"/api/v1/leads/{lead['id']}/distribute", headers=w.ch)
    assert r.status_code == 409 and r.json()["code"] == "no_matching_rule"


async def test_accept_just_before_expiry_wins_over_the_job(client, session, world, run_jobs):
    w = world
    lead = await make_lead(client, w.ch)
    out = await post(
        client,
        w.ch,
        f"leads/{lead['id']}/offers",
        {"partner_account_id": w.a.id, "time_limit_seconds": 30},
    )
    (offer,) = out["offers"]
    clock.advance(seconds=29)
    r = await client.post(f"/api/v1/lead-offers/{offer['id']}/accept", headers=w.a.rh)
    assert r.status_code == 200, r.text
    clock.advance(seconds=5)
    await run_jobs()  # the job finds it accepted and leaves it
    (row,) = await _offers(session, lead["id"])
    assert row.status == "accepted"


async def test_accept_after_the_time_limit_is_409_even_before_the_job(client, world):
    w = world
    lead = await make_lead(client, w.ch)
    out = await post(
        client,
        w.ch,
        f"leads/{lead['id']}/offers",
        {"partner_account_id": w.a.id, "time_limit_seconds": 10},
    )
    clock.advance(seconds=11)
    r = await client.post(f"/api/v1/lead-offers/{out['offers'][0]['id']}/accept", headers=w.a.rh)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    assert (await client.get(f"/api/v1/leads/{lead['id']}", headers=w.a.rh)).status_code == 404


async def test_on_expiry_extend_renews_then_expires(client, session, world, run_jobs):
    w = world
    lead = await make_lead(client, w.ch)
    out = await post(
        client,
        w.ch,
        f"leads/{lead['id']}/offers",
        {"partner_account_id": w.a.id, "time_limit_seconds": 60, "on_expiry": "extend"},
    )
    (offer,) = out["offers"]
    first_due = datetime.fromisoformat(offer["expires_at"])
    clock.advance(seconds=61)
    await run_jobs()
    (row,) = await _offers(session, lead["id"])
    assert row.status == "offered" and row.extensions == 1
    assert (row.expires_at - first_due).total_seconds() >= 60
    assert (await client.get(f"/api/v1/lead-inbox/{offer['id']}", headers=w.a.rh)).json()[
        "status"
    ] == "offered"
    clock.advance(seconds=61)
    await run_jobs()
    (row,) = await _offers(session, lead["id"])
    assert row.status == "expired"  # one extension by default, then the claw-back


async def test_decline_in_shark_tank_waits_for_the_others(client, session, world, run_jobs):
    w = world
    await _rule(client, w, name="all", partner_account_ids=[w.a.id, w.b.id], mode="shark_tank")
    lead = await make_lead(client, w.ch)
    out = await post(client, w.ch, f"leads/{lead['id']}/distribute", None)
    assert out["mode"] == "shark_tank" and len(out["offers"]) == 2
    a_id = next(o["id"] for o in out["offers"] if o["partner_account_id"] == w.a.id)
    b_id = next(o["id"] for o in out["offers"] if o["partner_account_id"] == w.b.id)
    r = await client.post(f"/api/v1/lead-offers/{a_id}/decline", headers=w.a.mh)
    assert r.status_code == 200
    r = await client.post(f"/api/v1/lead-offers/{b_id}/accept", headers=w.b.mh)
    assert r.status_code == 200, r.text
    clock.advance(seconds=61)
    await run_jobs()
    statuses = {str(o.id): o.status for o in await _offers(session, lead["id"])}
    assert statuses == {a_id: "declined", b_id: "accepted"}


async def test_rules_match_on_lead_criteria_and_tiers(client, session, world):
    w = world
    # Bravo is silver, Alpha gold; a rule for gold partners in Germany, then one for US leads
    # with a high score for silver partners.
    await _rule(
        client, w, name="DE gold", countries=["DE"], partner_account_ids=[], partner_tiers=["gold"]
    )
    await _rule(
        client,
        w,
        name="US silver",
        sort_order=5,
        countries=["us"],
        states=["CA", "NY"],
        product_interests=["widgets pro"],
        min_score=50,
        partner_account_ids=[],
        partner_tiers=["silver"],
    )
    de = await make_lead(client, w.ch, country="DE", state=None)
    out = await post(client, w.ch, f"leads/{de['id']}/distribute", None)
    assert [o["partner_account_id"] for o in out["offers"]] == [w.a.id]
    us = await make_lead(client, w.ch)
    out = await post(client, w.ch, f"leads/{us['id']}/distribute", None)
    assert [o["partner_account_id"] for o in out["offers"]] == [w.b.id]
    low = await make_lead(client, w.ch, score=10)
    r = await client.post(f"/api/v1/leads/{low['id']}/distribute", headers=w.ch)
    assert r.status_code == 409 and r.json()["code"] == "no_matching_rule"


async def test_rule_crud_and_validation(client, session, world):
    w = world
    r1 = await _rule(client, w, name="second", sort_order=20)
    r0 = await _rule(client, w, name="first", sort_order=10)
    assert r1["mode"] == "direct" and r1["on_expiry"] == "redistribute"
    r = await client.get("/api/v1/distribution-rules", headers=w.ch)
    assert [x["name"] for x in r.json()["data"]] == ["first", "second"]
    r = await client.get("/api/v1/distribution-rules", params={"limit": 1}, headers=w.ch)
    page = r.json()
    assert [x["name"] for x in page["data"]] == ["first"]
    r = await client.get(
        "/api/v1/distribution-rules",
        params={"limit": 1, "cursor": page["next_cursor"]},
        headers=w.ch,
    )
    assert [x["name"] for x in r.json()["data"]] == ["second"]

    r = await client.patch(
        f"/api/v1/distribution-rules/{r0['id']}",
        json={"is_active": False, "min_score": 10},
        headers=w.ch,
    )
    assert r.status_code == 200 and r.json()["is_active"] is False and r.json()["min_score"] == 10
    for bad in (
        {"name": None},
        {"partner_account_ids": [str(uuid.uuid4())]},
        {"partner_tiers": ["diamond"]},
        {"time_limit_seconds": 0},
        {"mode": "lottery"},
        {"owner": "me"},
    ):
        r = await client.patch(f"/api/v1/distribution-rules/{r0['id']}", json=bad, headers=w.ch)
        assert r.status_code == 422, (bad, r.text)
    r = await client.get(f"/api/v1/distribution-rules/{r0['id']}", headers=w.ch)
    assert r.json()["is_active"] is False and r.json()["name"] == "first"
    assert (
        await client.post("/api/v1/distribution-rules", json={"name": ""}, headers=w.ch)
    ).status_code == 422
    # Partners have no access to rules.
    for h in (w.a.mh, w.b.rh):
        r = await client.patch(
            f"/api/v1/distribution-rules/{r0['id']}", json={"name": "x"}, headers=h
        )
        assert r.status_code == 403
    assert (
        await client.delete(f"/api/v1/distribution-rules/{r0['id']}", headers=w.ch)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/distribution-rules/{r0['id']}", headers=w.ch)
    ).status_code == 404
    assert (
        await client.delete(f"/api/v1/distribution-rules/{r0['id']}", headers=w.ch)
    ).status_code == 404
