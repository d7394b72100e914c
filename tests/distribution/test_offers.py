"""Lead distribution, played by a channel manager and two competing partners (Alpha, Bravo):
offers, the lead inbox with held-back details, acceptance, conversion by the partner, declines,
withdrawal, and every way the other partner might read or change what is not theirs."""

import uuid

import pytest
from sqlalchemy import func, select

from app.models import EmailMessage, Lead, LeadOffer, Notification, Opportunity
from app.models.history import Change, FieldHistory
from tests.distribution.world import World, make_lead, make_world, post
from tests.factories import make_user, user_token

HELD_BACK = {"first_name", "last_name", "title", "email", "phone", "street", "postal_code", "score"}
SUMMARY = {
    "company",
    "industry",
    "city",
    "state",
    "country",
    "lead_source",
    "rating",
    "status",
    "product_interest",
}


@pytest.fixture
async def world(client, session) -> World:
    return await make_world(client, session)


async def _offer(client, w: World, lead_id: str, status=201, **body):
    targets = {"partner_user_id", "partner_account_id", "partner_account_ids"}
    if not targets & set(body):
        body = {"partner_account_id": w.a.id, **body}
    return await post(client, w.ch, f"leads/{lead_id}/offers", body, status)


async def _count(session, model, *where) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where))


async def test_offer_reaches_partner_inbox_with_details_held_back(client, session, world):
    w = world
    lead = await make_lead(client, w.ch)
    out = await _offer(client, w, lead["id"], partner_account_id=w.a.id, message="Hot one")
    assert out["mode"] == "direct"
    (offer,) = out["offers"]
    assert offer["status"] == "offered" and offer["partner_account_id"] == w.a.id
    assert offer["time_limit_seconds"] == 48 * 3600
    assert offer["lead"]["status"] == "Working - Contacted"

    for h in (w.a.mh, w.a.rh):
        r = await client.get("/api/v1/lead-inbox", headers=h)
        assert r.status_code == 200, r.text
        (item,) = r.json()["data"]
        assert item["id"] == offer["id"] and item["message"] == "Hot one"
        assert set(item["lead"]) == SUMMARY
        assert item["lead"]["company"] == "Analytical Engines"
        assert item["lead"]["product_interest"] == "Widgets Pro"
        assert not HELD_BACK & set(item["lead"])
        assert "Lovelace" not in r.text and "ada@engines" not in r.text
        # Not shared until accepted.
        assert (await client.get(f"/api/v1/leads/{lead['id']}", headers=h)).status_code == 404
        r = await client.get("/api/v1/leads", headers=h)
        assert lead["id"] not in {x["id"] for x in r.json()["data"]}

    # Bravo sees nothing of it.
    r = await client.get("/api/v1/lead-inbox", headers=w.b.mh)
    assert r.status_code == 200 and r.json()["data"] == []
    # Alpha's people were told in-app and by email.
    for user in (w.a.manager, w.a.rep):
        assert await _count(
            session,
            Notification,
            Notification.user_id == user.id,
            Notification.kind == "lead_offer.created",
        )
        assert await _count(session, EmailMessage, EmailMessage.to_address == user.email)
    for user in (w.b.manager, w.b.rep):
        assert not await _count(session, Notification, Notification.user_id == user.id)
    lead_row = await session.get(Lead, uuid.UUID(lead["id"]))
    assert lead_row.partner_account_id is None and lead_row.owner_id == w.cm.id


async def test_accept_hands_over_the_full_lead_and_partner_converts_it(client, session, world):
    w = world
    lead = await make_lead(client, w.ch)
    (offer,) = (await _offer(client, w, lead["id"]))["offers"]

    r = await client.post(f"/api/v1/lead-offers/{offer['id']}/accept", headers=w.a.rh)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["offer"]["status"] == "accepted"
    assert body["lead"]["email"] == "ada@engines.example.com"
    assert body["lead"]["owner_id"] == str(w.a.rep.id)
    assert body["lead"]["partner_account_id"] == w.a.id
    assert "score" not in body["lead"]  # the vendor's internal field
    assert body["lead"]["custom_fields"] == {}

    r = await client.get(f"/api/v1/leads/{lead['id']}", headers=w.a.rh)
    assert r.status_code == 200 and r.json()["last_name"] == "Lovelace"
    assert (await client.get(f"/api/v1/leads/{lead['id']}", headers=w.b.mh)).status_code == 404
    # The hand-over is in the field history and the change feed.
    fields = set(
        (
            await session.scalars(
                select(FieldHistory.field).where(FieldHistory.record_id == uuid.UUID(lead["id"]))
            )
        ).all()
    )
    assert {"owner_id", "partner_account_id"} <= fields
    assert await _count(
        session, Change, Change.record_id == uuid.UUID(lead["id"]), Change.op == "update"
    )
    assert await _count(
        session,
        Notification,
        Notification.user_id == w.cm.id,
        Notification.kind == "lead_offer.accepted",
    )

    # The partner re-qualifies and converts it; the opportunity carries the partner.
    r = await client.patch(
        f"/api/v1/leads/{lead['id']}", json={"status": "Working - Contacted"}, headers=w.a.rh
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=w.a.rh)
    assert r.status_code == 200, r.text
    opp = await session.get(Opportunity, uuid.UUID(r.json()["opportunity_id"]))
    assert str(opp.partner_account_id) == w.a.id and opp.owner_id == w.a.rep.id

    # Status feedback for the vendor.
    r = await client.get(f"/api/v1/lead-offers/{offer['id']}", headers=w.ch)
    assert r.status_code == 200
    feedback = r.json()
    assert feedback["status"] == "accepted" and feedback["responded_by"] == str(w.a.rep.id)
    assert feedback["lead"]["is_converted"] is True
    assert feedback["lead"]["converted_opportunity_id"] == str(opp.id)
    r = await client.get("/api/v1/lead-offers", params={"lead_id": lead["id"]}, headers=w.ch)
    assert [x["id"] for x in r.json()["data"]] == [offer["id"]]


async def test_second_accept_and_accept_after_decline_are_409(client, world):
    w = world
    lead = await make_lead(client, w.ch)
    (offer,) = (await _offer(client, w, lead["id"]))["offers"]
    url = f"/api/v1/lead-offers/{offer['id']}"
    assert (await client.post(f"{url}/accept", headers=w.a.mh)).status_code == 200
    r = await client.post(f"{url}/accept", headers=w.a.rh)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.post(f"{url}/decline", json={"reason": "x"}, headers=w.a.rh)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.post(f"{url}/withdraw", headers=w.ch)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"


async def test_decline_tells_the_vendor_and_returns_the_lead(client, session, world):
    w = world
    lead = await make_lead(client, w.ch)
    (offer,) = (await _offer(client, w, lead["id"], partner_account_id=w.a.id, on_expiry="none"))[
        "offers"
    ]
    r = await client.post(
        f"/api/v1/lead-offers/{offer['id']}/decline",
        json={"reason": "Outside our territory"},
        headers=w.a.mh,
    )
    assert r.status_code == 200, r.text
    assert (
        r.json()["status"] == "declined" and r.json()["decline_reason"] == "Outside our territory"
    )
    r = await client.post(f"/api/v1/lead-offers/{offer['id']}/accept", headers=w.a.mh)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    kinds = set(
        await session.scalars(select(Notification.kind).where(Notification.user_id == w.cm.id))
    )
    assert {"lead_offer.declined", "lead_offer.returned"} <= kinds
    # The lead can be offered again, to Bravo.
    await _offer(client, w, lead["id"], partner_account_id=w.b.id)


async def test_other_partner_cannot_see_or_act_on_an_offer(client, session, world):
    w = world
    lead = await make_lead(client, w.ch)
    (offer,) = (await _offer(client, w, lead["id"]))["offers"]
    for h in (w.b.mh, w.b.rh):
        assert (await client.get(f"/api/v1/lead-inbox/{offer['id']}", headers=h)).status_code == 404
        for action in ("accept", "decline"):
            r = await client.post(f"/api/v1/lead-offers/{offer['id']}/{action}", headers=h)
            assert r.status_code == 404, (action, r.text)
        r = await client.get("/api/v1/lead-inbox", params={"status": "offered"}, headers=h)
        assert r.json()["data"] == []
        # The vendor's endpoints need leads:distribute, which partners never hold.
        for method, path in (
            ("get", "/api/v1/lead-offers"),
            ("get", f"/api/v1/lead-offers/{offer['id']}"),
            ("post", f"/api/v1/lead-offers/{offer['id']}/withdraw"),
            ("post", f"/api/v1/lead-offers/{offer['id']}/extend"),
            ("post", f"/api/v1/leads/{lead['id']}/offers"),
            ("post", f"/api/v1/leads/{lead['id']}/distribute"),
            ("get", "/api/v1/distribution-rules"),
        ):
            r = await client.request(method, path, headers=h)
            assert r.status_code == 403, (path, r.text)
            assert r.json()["code"] == "insufficient_scope"
    row = await session.get(LeadOffer, uuid.UUID(offer["id"]))
    await session.refresh(row)
    assert row.status == "offered" and row.responded_at is None


async def test_offer_to_a_rep_is_for_that_rep_and_the_managers_only(client, session, world):
    w = world
    other_rep = await post(
        client,
        w.ch,
        f"partners/{w.a.id}/users",
        {
            "email": f"rep2-{uuid.uuid4().hex[:6]}@alpha.example.com",
            "name": "Alpha Rep Two",
            "password": "correct horse battery",
            "partner_role": "partner_rep",
        },
    )
    from app.models import User
    from tests.distribution.world import PARTNER

    rep2 = await session.get(User, uuid.UUID(other_rep["id"]))
    r2h = await user_token(client, session, rep2, PARTNER)
    lead = await make_lead(client, w.ch)
    (offer,) = (await _offer(client, w, lead["id"], partner_user_id=str(w.a.rep.id)))["offers"]
    assert offer["partner_account_id"] == w.a.id and offer["partner_user_id"] == str(w.a.rep.id)
    assert (await client.get(f"/api/v1/lead-inbox/{offer['id']}", headers=r2h)).status_code == 404
    r = await client.post(f"/api/v1/lead-offers/{offer['id']}/accept", headers=r2h)
    assert r.status_code == 404
    assert (
        await client.get(f"/api/v1/lead-inbox/{offer['id']}", headers=w.a.mh)
    ).status_code == 200
    # Only the rep was notified.
    assert await _count(session, Notification, Notification.user_id == w.a.rep.id)
    assert not await _count(session, Notification, Notification.user_id == rep2.id)
    # A rep cannot accept on someone else's behalf; the manager may hand it to the rep.
    r = await client.post(
        f"/api/v1/lead-offers/{offer['id']}/accept",
        json={"owner_id": str(w.a.manager.id)},
        headers=w.a.rh,
    )
    assert r.status_code == 422
    r = await client.post(
        f"/api/v1/lead-offers/{offer['id']}/accept",
        json={"owner_id": str(w.b.rep.id)},
        headers=w.a.mh,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "owner_id"
    r = await client.post(
        f"/api/v1/lead-offers/{offer['id']}/accept",
        json={"owner_id": str(w.a.rep.id)},
        headers=w.a.mh,
    )
    assert r.status_code == 200, r.text
    assert r.json()["lead"]["owner_id"] == str(w.a.rep.id)


async def test_auth_and_scopes(client, session, world):
    w = world
    lead = await make_lead(client, w.ch)
    assert (await client.get("/api/v1/lead-inbox")).status_code == 401
    assert (
        await client.post(f"/api/v1/leads/{lead['id']}/offers", json={"partner_account_id": w.a.id})
    ).status_code == 401
    # An internal user without leads:distribute.
    rep = await make_user(session)
    h = await user_token(client, session, rep, "leads:read leads:write")
    r = await client.post(
        f"/api/v1/leads/{lead['id']}/offers", json={"partner_account_id": w.a.id}, headers=h
    )
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    # The inbox and accepting are for partners.
    r = await client.get("/api/v1/lead-inbox", headers=w.ch)
    assert r.status_code == 403 and r.json()["code"] == "partner_only"
    (offer,) = (await _offer(client, w, lead["id"]))["offers"]
    r = await client.post(f"/api/v1/lead-offers/{offer['id']}/accept", headers=w.ch)
    assert r.status_code == 403 and r.json()["code"] == "partner_only"
    # Another internal user who cannot see the lead cannot see its offers nor offer it.
    outsider = await make_user(session)
    oh = await user_token(client, session, outsider, "leads:read leads:write leads:distribute")
    assert (await client.get(f"/api/v1/lead-offers/{offer['id']}", headers=oh)).status_code == 404
    assert (await client.get("/api/v1/lead-offers", headers=oh)).json()["data"] == []
    r = await client.post(f"/api/v1/lead-offers/{offer['id']}/withdraw", headers=oh)
    assert r.status_code == 404
    r = await client.post(
        f"/api/v1/leads/{lead['id']}/offers", json={"partner_account_id": w.b.id}, headers=oh
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"partner_account_id": "A", "partner_account_ids": ["A", "B"]},
        {"partner_account_id": "A", "time_limit_seconds": 0},
        {"partner_account_id": "A", "time_limit_seconds": "soon"},
        {"partner_account_id": "A", "on_expiry": "explode"},
        {"partner_account_ids": []},
        {"partner_account_ids": ["A", "A"]},
        {"partner_account_id": "not-a-uuid"},
        {"partner_account_id": "A", "status": "accepted"},
        {"partner_account_id": "NOT_PARTNER"},
        {"partner_account_id": str(uuid.uuid4())},
        {"partner_user_id": "VENDOR_USER"},
        {"partner_account_ids": ["A", str(uuid.uuid4())]},
    ],
)
async def test_bad_offer_bodies_are_422_and_change_nothing(client, session, world, body):
    w = world
    lead = await make_lead(client, w.ch)
    plain = await post(client, w.ch, "accounts", {"name": "Just a customer"})
    swap = {"A": w.a.id, "B": w.b.id, "NOT_PARTNER": plain["id"], "VENDOR_USER": str(w.cm.id)}

    def fix(v):
        if isinstance(v, list):
            return [swap.get(x, x) for x in v]
        return swap.get(v, v) if isinstance(v, str) else v

    body = {k: fix(v) for k, v in body.items()}
    r = await client.post(f"/api/v1/leads/{lead['id']}/offers", json=body, headers=w.ch)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert not await _count(session, LeadOffer, LeadOffer.lead_id == uuid.UUID(lead["id"]))
    assert (await client.get("/api/v1/lead-inbox", headers=w.a.mh)).json()["data"] == []


async def test_lead_not_distributable_is_409(client, session, world):
    w = world
    lead = await make_lead(client, w.ch)
    await _offer(client, w, lead["id"])
    r = await client.post(
        f"/api/v1/leads/{lead['id']}/offers", json={"partner_account_id": w.b.id}, headers=w.ch
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    converted = await make_lead(client, w.ch, company="Done Co")
    r = await client.post(f"/api/v1/leads/{converted['id']}/convert", json={}, headers=w.ch)
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/leads/{converted['id']}/offers", json={"partner_account_id": w.a.id}, headers=w.ch
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    missing = uuid.uuid4()
    r = await client.post(
        f"/api/v1/leads/{missing}/offers", json={"partner_account_id": w.a.id}, headers=w.ch
    )
    assert r.status_code == 404


async def test_shark_tank_first_accept_wins_and_others_are_taken(client, session, world):
    w = world
    lead = await make_lead(client, w.ch)
    out = await _offer(client, w, lead["id"], partner_account_ids=[w.a.id, w.b.id])
    assert out["mode"] == "shark_tank" and len(out["offers"]) == 2
    by_partner = {o["partner_account_id"]: o for o in out["offers"]}
    assert len({o["distribution_id"] for o in out["offers"]}) == 1
    # Each partner sees only its own offer.
    (a_item,) = (await client.get("/api/v1/lead-inbox", headers=w.a.mh)).json()["data"]
    (b_item,) = (await client.get("/api/v1/lead-inbox", headers=w.b.mh)).json()["data"]
    assert a_item["id"] == by_partner[w.a.id]["id"] and b_item["id"] == by_partner[w.b.id]["id"]

    r = await client.post(f"/api/v1/lead-offers/{b_item['id']}/accept", headers=w.b.rh)
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/lead-offers/{a_item['id']}/accept", headers=w.a.rh)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.get(f"/api/v1/lead-inbox/{a_item['id']}", headers=w.a.rh)
    assert r.json()["status"] == "taken"
    r = await client.get(f"/api/v1/lead-inbox/{b_item['id']}", headers=w.b.rh)
    assert r.json()["status"] == "accepted"
    assert "Lovelace" not in r.text
    assert await _count(
        session,
        Notification,
        Notification.user_id == w.a.manager.id,
        Notification.kind == "lead_offer.taken",
    )
    assert (await client.get(f"/api/v1/leads/{lead['id']}", headers=w.a.mh)).status_code == 404
    assert (await client.get(f"/api/v1/leads/{lead['id']}", headers=w.b.rh)).status_code == 200


async def test_withdraw_and_extend(client, session, world):
    w = world
    lead = await make_lead(client, w.ch)
    (offer,) = (await _offer(client, w, lead["id"], time_limit_seconds=3600))["offers"]
    url = f"/api/v1/lead-offers/{offer['id']}"
    r = await client.post(f"{url}/extend", json={"seconds": 600}, headers=w.ch)
    assert r.status_code == 200, r.text
    from datetime import datetime

    before = datetime.fromisoformat(offer["expires_at"])
    after = datetime.fromisoformat(r.json()["expires_at"])
    assert (after - before).total_seconds() == pytest.approx(600, abs=1)
    r = await client.post(f"{url}/extend", json={"seconds": -5}, headers=w.ch)
    assert r.status_code == 422
    r = await client.post(f"{url}/withdraw", headers=w.ch)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert await _count(
        session,
        Notification,
        Notification.user_id == w.a.rep.id,
        Notification.kind == "lead_offer.withdrawn",
    )
    r = await client.post(f"{url}/accept", headers=w.a.rh)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.post(f"{url}/withdraw", headers=w.ch)
    assert r.status_code == 409
    r = await client.post(f"{url}/extend", headers=w.ch)
    assert r.status_code == 409
    # Partners cannot withdraw (scope).
    r = await client.post(f"{url}/withdraw", headers=w.a.mh)
    assert r.status_code == 403


async def test_malformed_answers_are_422_and_change_nothing(client, session, world):
    w = world
    lead = await make_lead(client, w.ch)
    (offer,) = (await _offer(client, w, lead["id"]))["offers"]
    url = f"/api/v1/lead-offers/{offer['id']}"
    for path, body in (
        ("accept", {"owner_id": "nobody"}),
        ("accept", {"status": "accepted"}),
        ("decline", {"reason": "x" * 2001}),
        ("decline", {"why": "no"}),
    ):
        r = await client.post(f"{url}/{path}", json=body, headers=w.a.mh)
        assert r.status_code == 422, (path, r.text)
    r = await client.post(f"{url}/accept", content=b"{not json", headers=w.a.mh)
    assert r.status_code in (400, 422)
    r = await client.post("/api/v1/lead-offers/not-a-uuid/accept", headers=w.a.mh)
    assert r.status_code == 422
    row = await session.get(LeadOffer, uuid.UUID(offer["id"]))
    await session.refresh(row)
    assert row.status == "offered"


async def test_partner_system_accepts_for_the_rep_it_was_offered_to(client, session, world):
    w = world
    r = await client.post(
        f"/api/v1/partners/{w.a.id}/clients",
        json={"name": "Alpha CRM", "scopes": ["leads:read", "leads:write"]},
        headers=w.ch,
    )
    assert r.status_code == 201, r.text
    creds = r.json()
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    sh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    lead = await make_lead(client, w.ch)
    (to_account,) = (await _offer(client, w, lead["id"]))["offers"]
    # Offered to the account: a partner system must say who works it.
    r = await client.post(f"/api/v1/lead-offers/{to_account['id']}/accept", headers=sh)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "owner_id"
    await client.post(f"/api/v1/lead-offers/{to_account['id']}/withdraw", headers=w.ch)
    (to_rep,) = (await _offer(client, w, lead["id"], partner_user_id=str(w.a.rep.id)))["offers"]
    (item,) = (
        await client.get("/api/v1/lead-inbox", params={"status": "offered"}, headers=sh)
    ).json()["data"]
    assert item["id"] == to_rep["id"]
    r = await client.post(f"/api/v1/lead-offers/{to_rep['id']}/accept", headers=sh)
    assert r.status_code == 200, r.text
    assert r.json()["lead"]["owner_id"] == str(w.a.rep.id)
