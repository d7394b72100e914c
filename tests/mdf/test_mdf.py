"""MDF: budgets per partner and period, fund requests approved or rejected by the vendor, claims
with proof of performance against approved requests; never more than allocated."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.models import FundClaim, FundRequest, MdfBudget, Notification
from tests.factories import make_user, user_token
from tests.mdf.world import World, make_world, post

PROOF = [{"name": "Invoice 42", "url": "https://files.example.com/invoice-42.pdf"}]


async def _count(session, model, **where) -> int:
    conditions = [getattr(model, k) == uuid.UUID(v) for k, v in where.items()]
    return await session.scalar(select(func.count()).select_from(model).where(*conditions))


@pytest.fixture
async def world(client, session) -> World:
    return await make_world(client, session)


def budget_body(partner_id: str, **kw) -> dict:
    return {
        "title": "FY27 H1 MDF",
        "partner_account_id": partner_id,
        "amount": "10000.00",
        "start_date": "2027-01-01",
        "end_date": "2027-06-30",
        **kw,
    }


def request_body(budget_id: str, **kw) -> dict:
    return {
        "title": "Spring webinar",
        "budget_id": budget_id,
        "activity": "Webinar",
        "requested_amount": "4000.00",
        "start_date": "2027-03-01",
        "end_date": "2027-03-31",
        **kw,
    }


@pytest.fixture
async def budget(client, world) -> dict:
    return await post(client, world.ch, "mdf/budgets", budget_body(world.a.id))


async def _approved_request(client, world, budget, amount="4000.00") -> dict:
    req = await post(client, world.a.rh, "mdf/requests", request_body(budget["id"]))
    await post(client, world.a.rh, f"mdf/requests/{req['id']}/submit", None, 200)
    return await post(
        client,
        world.ch,
        f"mdf/requests/{req['id']}/approve",
        {"approved_amount": amount},
        200,
    )


# --- budgets ---------------------------------------------------------------------------------


async def test_vendor_allocates_a_budget_that_only_that_partner_sees(client, world, budget):
    assert budget["approved_amount"] == "0.00" and budget["remaining_amount"] == "10000.00"
    assert budget["partner_account_id"] == world.a.id and budget["fund_type"] == "mdf"
    url = f"/api/v1/mdf/budgets/{budget['id']}"
    for h in (world.a.mh, world.a.rh):
        assert (await client.get(url, headers=h)).status_code == 200
        listed = (await client.get("/api/v1/mdf/budgets", headers=h)).json()["data"]
        assert [b["id"] for b in listed] == [budget["id"]]
    for h in (world.b.mh, world.b.rh):
        assert (await client.get(url, headers=h)).status_code == 404
        assert (await client.get("/api/v1/mdf/budgets", headers=h)).json()["data"] == []
        r = await client.get("/api/v1/mdf/budgets", params={"id": budget["id"]}, headers=h)
        assert r.json()["data"] == []


async def test_partner_cannot_create_change_or_delete_a_budget(client, session, world, budget):
    url = f"/api/v1/mdf/budgets/{budget['id']}"
    r = await client.patch(url, json={"amount": "99999.00"}, headers=world.a.mh)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_access"
    assert (await client.delete(url, headers=world.a.mh)).status_code == 403
    r = await client.post("/api/v1/mdf/budgets", json=budget_body(world.a.id), headers=world.a.mh)
    assert r.status_code in (403, 422), r.text
    body = budget_body(world.a.id)
    del body["partner_account_id"]
    r = await client.post("/api/v1/mdf/budgets", json=body, headers=world.a.mh)
    assert r.status_code in (403, 422), r.text
    assert await _count(session, MdfBudget, partner_account_id=world.a.id) == 1
    assert (await client.get(url, headers=world.ch)).json()["amount"] == "10000.00"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"start_date": "2027-07-01"}, "end_date"),
        ({"start_date": "not a date"}, "start_date"),
        ({"fund_type": "gift"}, "fund_type"),
        ({"approved_amount": "5.00"}, "approved_amount"),
    ],
)
async def test_bad_budget_bodies_are_422_and_create_nothing(client, session, world, change, field):
    r = await client.post(
        "/api/v1/mdf/budgets", json=budget_body(world.a.id, **change), headers=world.ch
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == field
    assert await _count(session, MdfBudget, partner_account_id=world.a.id) == 0


async def test_budget_needs_an_enabled_partner_account(client, session, world):
    plain = await post(client, world.ch, "accounts", {"name": "Just a customer"})
    r = await client.post("/api/v1/mdf/budgets", json=budget_body(plain["id"]), headers=world.ch)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "partner_account_id"


async def test_scopes_and_anonymous(client, session, world, budget):
    assert (await client.get("/api/v1/mdf/budgets")).status_code == 401
    user = await make_user(session)
    h = await user_token(client, session, user, "mdf:read")
    r = await client.post("/api/v1/mdf/budgets", json=budget_body(world.a.id), headers=h)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    other = await user_token(client, session, user, "accounts:read")
    assert (await client.get("/api/v1/mdf/budgets", headers=other)).status_code == 403


async def test_budget_cannot_shrink_below_what_is_approved(client, world, budget):
    await _approved_request(client, world, budget, "4000.00")
    url = f"/api/v1/mdf/budgets/{budget['id']}"
    r = await client.patch(url, json={"amount": "3999.99"}, headers=world.ch)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "below_approved"
    r = await client.patch(url, json={"amount": "4000.00"}, headers=world.ch)
    assert r.status_code == 200 and r.json()["remaining_amount"] == "0.00"


# --- fund requests ---------------------------------------------------------------------------


async def test_request_life_cycle_approved_for_less(client, session, world, budget):
    req = await post(client, world.a.rh, "mdf/requests", request_body(budget["id"]))
    assert req["status"] == "draft" and req["partner_account_id"] == world.a.id
    assert req["owner_id"] == str(world.a.rep.id) and req["approved_amount"] is None
    url = f"mdf/requests/{req['id']}"
    patched = await client.patch(
        f"/api/v1/{url}", json={"desired_outcome": "40 MQLs"}, headers=world.a.rh
    )
    assert patched.status_code == 200
    submitted = await post(client, world.a.rh, f"{url}/submit", None, 200)
    assert submitted["status"] == "submitted" and submitted["submitted_at"]
    # The channel manager hears of it.
    kinds = await session.scalars(
        select(Notification.kind).where(Notification.user_id == world.cm.id)
    )
    assert "fund_request.submitted" in list(kinds)
    # Submitted: no more edits, and partners do not decide.
    r = await client.patch(f"/api/v1/{url}", json={"title": "X"}, headers=world.a.rh)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.post(f"/api/v1/{url}/approve", json={}, headers=world.a.mh)
    assert r.status_code == 403 and r.json()["code"] == "vendor_only"
    r = await client.post(
        f"/api/v1/{url}/approve", json={"approved_amount": "4000.01"}, headers=world.ch
    )
    assert r.status_code == 422
    approved = await post(client, world.ch, f"{url}/approve", {"approved_amount": "2500.00"}, 200)
    assert approved["status"] == "approved" and approved["approved_amount"] == "2500.00"
    assert approved["decided_by"] == str(world.cm.id)
    b = (await client.get(f"/api/v1/mdf/budgets/{budget['id']}", headers=world.a.rh)).json()
    assert b["approved_amount"] == "2500.00" and b["remaining_amount"] == "7500.00"
    for action, body in (("approve", {}), ("reject", {"reason": "late"}), ("submit", None)):
        r = await client.post(f"/api/v1/{url}/{action}", json=body, headers=world.ch)
        assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition", action
    history = (await client.get(f"/api/v1/{url}/history", headers=world.ch)).json()["data"]
    statuses = [(e["old_value"], e["new_value"]) for e in history if e["field"] == "status"]
    assert statuses == [("draft", "submitted"), ("submitted", "approved")]


async def test_rejection_needs_a_reason_and_tells_the_requester(client, session, world, budget):
    req = await post(client, world.a.rh, "mdf/requests", request_body(budget["id"]))
    url = f"/api/v1/mdf/requests/{req['id']}"
    r = await client.post(f"{url}/reject", json={"reason": "no"}, headers=world.ch)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    await post(client, world.a.rh, f"mdf/requests/{req['id']}/submit", None, 200)
    for bad in (None, {}, {"reason": "  "}, {"reason": 5, "x": 1}):
        r = await client.post(f"{url}/reject", json=bad, headers=world.ch)
        assert r.status_code == 422, bad
    rejected = await post(
        client, world.ch, f"mdf/requests/{req['id']}/reject", {"reason": "Off strategy"}, 200
    )
    assert rejected["status"] == "rejected" and rejected["rejection_reason"] == "Off strategy"
    note = await session.scalar(
        select(Notification).where(
            Notification.user_id == world.a.rep.id, Notification.kind == "fund_request.rejected"
        )
    )
    assert note is not None and note.body == "Off strategy"


async def test_approval_beyond_the_budget_is_refused_and_changes_nothing(
    client, session, world, budget
):
    await _approved_request(client, world, budget, "4000.00")
    await _approved_request(client, world, budget, "4000.00")
    req = await post(client, world.a.mh, "mdf/requests", request_body(budget["id"]))
    await post(client, world.a.mh, f"mdf/requests/{req['id']}/submit", None, 200)
    r = await client.post(f"/api/v1/mdf/requests/{req['id']}/approve", headers=world.ch)
    assert r.status_code == 409 and r.json()["code"] == "budget_exceeded"
    assert r.json()["remaining_amount"] == "2000.00"
    row = await session.get(FundRequest, uuid.UUID(req["id"]))
    await session.refresh(row)
    assert row.status == "submitted" and row.approved_amount is None
    # The vendor can still approve what fits.
    ok = await post(
        client, world.ch, f"mdf/requests/{req['id']}/approve", {"approved_amount": "2000"}, 200
    )
    assert ok["approved_amount"] == "2000.00"
    b = await session.get(MdfBudget, uuid.UUID(budget["id"]))
    await session.refresh(b)
    assert b.approved_amount == Decimal("10000.00")


async def test_request_must_fit_the_budget_and_the_partner(client, session, world, budget):
    r = await client.post(
        "/api/v1/mdf/requests",
        json=request_body(budget["id"], end_date="2027-07-15"),
        headers=world.a.rh,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "outside_budget_period"
    r = await client.post(
        "/api/v1/mdf/requests",
        json=request_body(budget["id"], start_date="2027-04-01", end_date="2027-03-01"),
        headers=world.a.rh,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "end_date"
    # The other partner cannot spend this partner's budget, nor name a field set by the system.
    r = await client.post(
        "/api/v1/mdf/requests", json=request_body(budget["id"]), headers=world.b.mh
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "budget_id"
    r = await client.post(
        "/api/v1/mdf/requests",
        json=request_body(budget["id"], status="approved"),
        headers=world.a.rh,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"
    r = await client.post(
        "/api/v1/mdf/requests",
        json=request_body(budget["id"], requested_amount="-1"),
        headers=world.a.rh,
    )
    assert r.status_code == 422
    assert await _count(session, FundRequest, budget_id=budget["id"]) == 0


async def test_partners_see_only_their_own_requests(client, world, budget):
    rep_req = await post(client, world.a.rh, "mdf/requests", request_body(budget["id"]))
    mgr_req = await post(client, world.a.mh, "mdf/requests", request_body(budget["id"]))
    url = f"/api/v1/mdf/requests/{rep_req['id']}"

    async def ids(h):
        r = await client.get("/api/v1/mdf/requests", headers=h)
        return {x["id"] for x in r.json()["data"]}

    assert await ids(world.a.mh) == {rep_req["id"], mgr_req["id"]}
    assert await ids(world.a.rh) == {rep_req["id"]}  # reps see what they own
    assert await ids(world.ch) == {rep_req["id"], mgr_req["id"]}
    assert await ids(world.b.mh) == set()
    for path in ("", "/history"):
        assert (await client.get(url + path, headers=world.b.mh)).status_code == 404
    for action in ("submit", "approve"):
        r = await client.post(f"{url}/{action}", json={}, headers=world.b.mh)
        assert r.status_code in (403, 404)
        assert r.status_code == (404 if action == "submit" else 403)
    r = await client.patch(url, json={"title": "Mine now"}, headers=world.b.mh)
    assert r.status_code == 404


async def test_internal_outsider_cannot_approve(client, session, world, budget):
    req = await post(client, world.a.rh, "mdf/requests", request_body(budget["id"]))
    await post(client, world.a.rh, f"mdf/requests/{req['id']}/submit", None, 200)
    outsider = await make_user(session, role_id=uuid.UUID("0190f000-0000-7000-8000-000000000004"))
    h = await user_token(client, session, outsider, "mdf:read mdf:write")
    r = await client.post(f"/api/v1/mdf/requests/{req['id']}/approve", headers=h)
    assert r.status_code == 404
    reader = await user_token(client, session, world.cm, "mdf:read")
    r = await client.post(f"/api/v1/mdf/requests/{req['id']}/approve", headers=reader)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"


# --- claims ----------------------------------------------------------------------------------


def claim_body(request_id: str, amount: str = "1000.00", **kw) -> dict:
    return {
        "title": "Webinar costs",
        "request_id": request_id,
        "amount": amount,
        "proof_of_performance": PROOF,
        **kw,
    }


async def test_claim_life_cycle(client, session, world, budget):
    req = await _approved_request(client, world, budget, "3000.00")
    claim = await post(client, world.a.rh, "mdf/claims", claim_body(req["id"], "1200.00"))
    assert claim["status"] == "draft" and claim["budget_id"] == budget["id"]
    assert claim["partner_account_id"] == world.a.id
    assert claim["proof_of_performance"][0]["url"].endswith("invoice-42.pdf")
    url = f"mdf/claims/{claim['id']}"
    await post(client, world.a.rh, f"{url}/submit", None, 200)
    r = await client.get(f"/api/v1/mdf/requests/{req['id']}", headers=world.a.rh)
    assert r.json()["claimed_amount"] == "1200.00"
    r = await client.post(f"/api/v1/{url}/pay", json={}, headers=world.ch)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.post(f"/api/v1/{url}/approve", headers=world.a.mh)
    assert r.status_code == 403 and r.json()["code"] == "vendor_only"
    await post(client, world.ch, f"{url}/approve", None, 200)
    paid = await post(client, world.ch, f"{url}/pay", {"payment_reference": "PAY-7"}, 200)
    assert paid["status"] == "paid" and paid["payment_reference"] == "PAY-7" and paid["paid_at"]
    r = await client.get(f"/api/v1/mdf/requests/{req['id']}", headers=world.a.rh)
    assert r.json()["paid_amount"] == "1200.00"
    r = await client.patch(f"/api/v1/{url}", json={"amount": "1.00"}, headers=world.a.rh)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"


async def test_claims_never_exceed_the_approved_amount(client, session, world, budget):
    req = await _approved_request(client, world, budget, "3000.00")
    r = await client.post(
        "/api/v1/mdf/claims", json=claim_body(req["id"], "3000.01"), headers=world.a.rh
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "exceeds_request"
    first = await post(client, world.a.rh, "mdf/claims", claim_body(req["id"], "2000.00"))
    second = await post(client, world.a.rh, "mdf/claims", claim_body(req["id"], "2000.00"))
    await post(client, world.a.rh, f"mdf/claims/{first['id']}/submit", None, 200)
    r = await client.post(f"/api/v1/mdf/claims/{second['id']}/submit", headers=world.a.rh)
    assert r.status_code == 409 and r.json()["code"] == "request_amount_exceeded"
    assert r.json()["remaining_amount"] == "1000.00"
    row = await session.get(FundClaim, uuid.UUID(second["id"]))
    await session.refresh(row)
    assert row.status == "draft"
    # A rejected claim gives its amount back.
    await post(client, world.ch, f"mdf/claims/{first['id']}/reject", {"reason": "No receipts"}, 200)
    await post(client, world.a.rh, f"mdf/claims/{second['id']}/submit", None, 200)
    r = await client.get(f"/api/v1/mdf/requests/{req['id']}", headers=world.a.rh)
    assert r.json()["claimed_amount"] == "2000.00"


async def test_claim_needs_an_approved_request_and_proof(client, session, world, budget):
    draft = await post(client, world.a.rh, "mdf/requests", request_body(budget["id"]))
    r = await client.post("/api/v1/mdf/claims", json=claim_body(draft["id"]), headers=world.a.rh)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "not_approved"
    req = await _approved_request(client, world, budget)
    claim = await post(
        client, world.a.rh, "mdf/claims", claim_body(req["id"], proof_of_performance=[])
    )
    r = await client.post(f"/api/v1/mdf/claims/{claim['id']}/submit", headers=world.a.rh)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "proof_of_performance"
    bad_proof = [{"name": "x", "url": "javascript:alert(1)"}]
    r = await client.post(
        "/api/v1/mdf/claims",
        json=claim_body(req["id"], proof_of_performance=bad_proof),
        headers=world.a.rh,
    )
    assert r.status_code == 422
    # The other partner cannot claim against it or see the claim.
    r = await client.post("/api/v1/mdf/claims", json=claim_body(req["id"]), headers=world.b.mh)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "request_id"
    r = await client.get(f"/api/v1/mdf/claims/{claim['id']}", headers=world.b.mh)
    assert r.status_code == 404
    assert await _count(session, FundClaim, budget_id=budget["id"]) == 1
