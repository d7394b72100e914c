"""Who may do what: partners only their own partner's registrations (reps only their own),
the vendor's channel manager decides, scopes per transition, bad bodies change nothing."""

import uuid

import pytest
from sqlalchemy import select

from app.models import DealRegistration, User
from tests.deals.world import PARTNER, URL, World, deal, make_world, post, register
from tests.factories import make_user, user_token

TRANSITIONS = {
    "submit": None,
    "resubmit": {},
    "approve": {},
    "reject": {"reason": "no"},
    "request-extension": {},
    "grant-extension": {},
    "deny-extension": {"reason": "no"},
    "close": {"outcome": "lost"},
    "withdraw": {},
}


@pytest.fixture
async def world(client, session) -> World:
    return await make_world(client, session)


async def _ids(client, h, **params) -> set[str]:
    r = await client.get(URL, params={"limit": 200, **params}, headers=h)
    assert r.status_code == 200, r.text
    return {x["id"] for x in r.json()["data"]}


async def test_partners_see_only_their_own_registrations(client, world):
    w = world
    a_rep = await register(client, w.a.rh, deal("Acme"))
    a_mgr = await post(client, w.a.mh, "deal-registrations", deal("Globex", draft=True))
    b_rep = await register(client, w.b.rh, deal("Initech"))
    assert await _ids(client, w.a.rh) == {a_rep["id"]}
    assert await _ids(client, w.a.mh) == {a_rep["id"], a_mgr["id"]}
    assert await _ids(client, w.b.mh) == {b_rep["id"]}
    # Filters narrow what is visible, they never widen it.
    assert await _ids(client, w.b.mh, partner_account_id=w.a.id) == set()
    assert await _ids(client, w.b.mh, id=a_rep["id"]) == set()
    assert await _ids(client, w.b.mh, q="Globex") == set()
    assert await _ids(client, w.ch) >= {a_rep["id"], a_mgr["id"], b_rep["id"]}
    assert await _ids(client, w.ch, status="submitted") >= {a_rep["id"], b_rep["id"]}
    assert a_mgr["id"] not in await _ids(client, w.ch, status="submitted")


async def test_other_partner_is_refused_on_every_path(client, session, world):
    w = world
    reg = await register(client, w.a.rh)
    await post(client, w.ch, f"deal-registrations/{reg['id']}/approve", {}, 200)
    url = f"{URL}/{reg['id']}"
    for h in (w.b.mh, w.b.rh):
        assert (await client.get(url, headers=h)).status_code == 404
        assert (await client.get(f"{url}/history", headers=h)).status_code == 404
        assert (await client.get(f"{url}/conflicts", headers=h)).status_code == 404
        assert (await client.patch(url, json={"notes": "x"}, headers=h)).status_code == 404
        assert (await client.delete(url, headers=h)).status_code == 404
        for action in ("submit", "resubmit", "request-extension", "close", "withdraw"):
            r = await client.post(f"{url}/{action}", json=TRANSITIONS[action], headers=h)
            assert r.status_code == 404, (action, r.text)
    # The other rep of the same partner cannot act on it either; the manager can.
    rep2 = await post(
        client,
        w.ch,
        f"partners/{w.a.id}/users",
        {
            "email": f"rep2-{uuid.uuid4().hex[:6]}@alpha.example.com",
            "name": "Second rep",
            "password": "correct horse battery",
            "partner_role": "partner_rep",
        },
    )
    rep2_h = await user_token(
        client, session, await session.get(User, uuid.UUID(rep2["id"])), PARTNER
    )
    assert (await client.get(url, headers=rep2_h)).status_code == 404
    r = await client.post(f"{url}/withdraw", json={}, headers=rep2_h)
    assert r.status_code == 404
    r = await client.post(f"{url}/request-extension", json={}, headers=w.a.mh)
    assert r.status_code == 200
    row = await session.get(DealRegistration, uuid.UUID(reg["id"]))
    await session.refresh(row)
    assert row.status.value == "extension_requested"


async def test_a_channel_manager_of_another_partner_cannot_decide(client, session, world):
    w = world
    reg = await register(client, w.a.rh)
    other = await make_user(session, name="Another CM")
    oh = await user_token(client, session, other, "deals:read deals:approve")
    r = await client.post(f"{URL}/{reg['id']}/approve", json={}, headers=oh)
    assert r.status_code == 404
    assert (await client.get(f"{URL}/{reg['id']}", headers=w.ch)).json()["status"] == "submitted"


async def test_scopes_per_transition(client, session, world):
    w = world
    reg = await register(client, w.a.rh)
    url = f"{URL}/{reg['id']}"
    # Anonymous.
    for action, body in TRANSITIONS.items():
        assert (await client.post(f"{url}/{action}", json=body)).status_code == 401
    assert (await client.get(f"{url}/conflicts")).status_code == 401
    # Partners cannot decide (deals:approve is beyond their ceiling).
    for action in ("approve", "reject", "grant-extension", "deny-extension"):
        r = await client.post(f"{url}/{action}", json=TRANSITIONS[action], headers=w.a.mh)
        assert r.status_code == 403 and r.json()["code"] == "insufficient_scope", action
    # A channel manager's token without deals:approve cannot either.
    weak = await user_token(client, session, w.cm, "deals:read deals:write")
    r = await client.post(f"{url}/approve", json={}, headers=weak)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    # A partner token without deals:register can edit drafts but not submit.
    no_reg = await user_token(client, session, w.a.rep, "deals:read deals:write")
    draft = await post(client, no_reg, "deal-registrations", deal("Soylent"))
    assert draft["status"] == "draft"
    r = await client.post(f"{URL}/{draft['id']}/submit", headers=no_reg)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    status = await session.scalar(
        select(DealRegistration.status).where(DealRegistration.id == uuid.UUID(draft["id"]))
    )
    assert status.value == "draft"


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("approve", {"protection_seconds": "soon"}),
        ("approve", {"protection_seconds": 0}),
        ("approve", {"protection_days": 1, "protection_seconds": 5}),
        ("approve", {"status": "approved"}),
        ("approve", {"margin_percent": "250"}),
        ("approve", {"opportunity_id": "0190f000-0000-7000-8000-00000000dead"}),
        ("approve", {"account_id": "not-a-uuid"}),
        ("reject", {}),
        ("reject", None),
    ],
)
async def test_malformed_decisions_change_nothing(client, session, world, action, body):
    w = world
    reg = await register(client, w.a.rh)
    r = await client.post(f"{URL}/{reg['id']}/{action}", json=body, headers=w.ch)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    got = (await client.get(f"{URL}/{reg['id']}", headers=w.ch)).json()
    assert got["status"] == "submitted" and got["version"] == reg["version"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"customer_company": "", "estimated_amount": "10"},
        {"customer_company": "X", "estimated_amount": "-5"},
        {"customer_company": "X", "estimated_amount": "10", "status": "approved"},
        {"customer_company": "X", "estimated_amount": "10", "partner_account_id": None},
        {"customer_company": "X", "estimated_amount": "10", "contact_email": "nope"},
        {"customer_company": "X", "estimated_amount": "10", "requested_time_frame_days": 0},
        {"customer_company": "X", "estimated_amount": "10", "product_id": str(uuid.uuid4())},
    ],
)
async def test_malformed_registrations_are_refused(client, session, world, body):
    r = await client.post(URL, json=body, headers=world.a.rh)
    assert r.status_code == 422, r.text
    count = await session.scalar(
        select(DealRegistration.id).where(DealRegistration.owner_id == world.a.rep.id).limit(1)
    )
    assert count is None


async def test_a_registration_without_a_partner_cannot_be_submitted(client, session, world):
    """An internal user's own draft (not on behalf of a partner) has nobody to protect."""
    h = await user_token(client, session, world.cm, "deals:read deals:write deals:register")
    draft = await post(client, h, "deal-registrations", deal())
    r = await client.post(f"{URL}/{draft['id']}/submit", headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "partner_account_id"


async def test_workflow_scopes_carry_what_the_workflow_needs(client, session, world):
    """`deals:register` alone lets a partner create, see and change its registrations;
    `deals:approve` alone lets the channel manager see what it decides."""
    w = world
    ph = await user_token(client, session, w.a.rep, "deals:register")
    ch = await user_token(client, session, w.cm, "deals:approve")
    reg = await register(client, ph, deal("Umbrella Corporation"))
    assert (await client.get(f"{URL}/{reg['id']}", headers=ph)).status_code == 200
    assert (await client.get(f"{URL}/{reg['id']}", headers=ch)).status_code == 200
    assert reg["id"] in {x["id"] for x in (await client.get(URL, headers=ch)).json()["data"]}
    r = await client.post(f"{URL}/{reg['id']}/approve", json={}, headers=ch)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    # Nothing beyond: the approver cannot create registrations, the partner cannot decide.
    r = await client.post(URL, json=deal(), headers=ch)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    r = await client.post(f"{URL}/{reg['id']}/reject", json={"reason": "x"}, headers=ph)
    assert r.status_code == 403
