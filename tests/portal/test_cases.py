"""Customers see and act on the cases of their own contact only, on every path."""

import uuid

from app.models import Case, Contact
from tests.cases.test_partner_cases import PARTNER
from tests.factories import make_user, user_token
from tests.portal.conftest import post

INTERNAL = {
    "owner_id",
    "queue_id",
    "partner_account_id",
    "escalation_rule_id",
    "first_response_due_at",
    "resolution_due_at",
    "paused_at",
    "custom_fields",
    "supplied_email",
}


async def _agent_case(client, world, contact: Contact, subject: str) -> dict:
    body = {
        "subject": subject,
        "contact_id": str(contact.id),
        "account_id": str(contact.account_id),
    }
    return await post(client, world.gh, "/api/v1/cases", body)


async def test_portal_user_opens_a_case_for_their_own_contact(client, session, world):
    r = await client.post(
        "/api/v1/portal/cases",
        json={"subject": "Printer jams", "description": "Every morning", "priority": "High"},
        headers=world.a.h,
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["origin"] == "Portal" and case["status"] == "New"
    assert case["contact_id"] == str(world.a.contact.id)
    assert case["account_id"] == str(world.a.contact.account_id)
    assert case["suggested_solutions"] == []
    assert not INTERNAL & case.keys()
    row = await session.get(Case, uuid.UUID(case["id"]))
    # Owned by the account's owner (an agent) until routed; created by the customer.
    assert row.owner_id == world.agent.id and row.created_by == world.a.user.id


async def test_portal_case_fields_are_limited(client, world):
    for body in (
        {"subject": "x", "status": "Closed"},
        {"subject": "x", "owner_id": str(world.agent.id)},
        {"subject": "x", "contact_id": str(world.b.contact.id)},
        {"subject": "x", "queue_id": str(uuid.uuid4())},
        {"subject": "x", "priority": "Whenever"},
        {"subject": ""},
        {},
    ):
        r = await client.post("/api/v1/portal/cases", json=body, headers=world.a.h)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.get("/api/v1/portal/cases", headers=world.a.h)
    assert r.json()["data"] == []  # nothing was created


async def test_generic_case_endpoints_keep_customers_to_their_rules(client, world):
    # Through /api/v1/cases a customer cannot put a case on someone else or set vendor fields.
    for body in (
        {"subject": "x", "owner_id": str(world.agent.id), "contact_id": str(world.b.contact.id)},
        {"subject": "x", "owner_id": str(world.agent.id), "queue_id": str(uuid.uuid4())},
        {"subject": "x", "owner_id": str(world.agent.id), "reason": "Other"},
        {"subject": "x"},  # the owner would be the customer
    ):
        r = await client.post("/api/v1/cases", json=body, headers=world.a.h)
        assert r.status_code in (403, 422), (body, r.text)
    mine = await post(client, world.a.h, "/api/v1/portal/cases", {"subject": "Mine"})
    # Visible, but never changed through PATCH / DELETE / the agents' close.
    r = await client.patch(
        f"/api/v1/cases/{mine['id']}", json={"priority": "Low"}, headers=world.a.h
    )
    assert r.status_code == 403 and r.json()["code"] == "insufficient_access"
    r = await client.delete(f"/api/v1/cases/{mine['id']}", headers=world.a.h)
    assert r.status_code == 403
    r = await client.post(f"/api/v1/cases/{mine['id']}/close", json={}, headers=world.a.h)
    assert r.status_code == 403
    got = await client.get(f"/api/v1/cases/{mine['id']}", headers=world.a.h)
    assert got.status_code == 200 and not INTERNAL & got.json().keys()
    assert got.json()["priority"] != "Low" and got.json()["is_closed"] is False


async def test_another_customers_case_is_invisible_on_every_path(client, world):
    theirs = await _agent_case(client, world, world.b.contact, "Globex secret outage")
    colleague = await _agent_case(client, world, world.a2.contact, "Arthur's case")
    mine = await post(client, world.a.h, "/api/v1/portal/cases", {"subject": "Alice's case"})
    h = world.a.h
    for other in (theirs, colleague):
        cid = other["id"]
        for path in (
            f"/api/v1/portal/cases/{cid}",
            f"/api/v1/portal/cases/{cid}/comments",
            f"/api/v1/cases/{cid}",
            f"/api/v1/cases/{cid}/history",
            f"/api/v1/cases/{cid}/comments",
        ):
            r = await client.get(path, headers=h)
            assert r.status_code == 404, (path, r.text)
        for path, body in (
            (f"/api/v1/portal/cases/{cid}/comments", {"body": "hi"}),
            (f"/api/v1/portal/cases/{cid}/close", {}),
            (f"/api/v1/portal/cases/{cid}/reopen", {}),
            (f"/api/v1/cases/{cid}/comments", {"body": "hi", "is_public": True}),
            (f"/api/v1/cases/{cid}/close", {}),
            (f"/api/v1/cases/{cid}/reopen", {}),
        ):
            r = await client.post(path, json=body, headers=h)
            assert r.status_code == 404, (path, r.text)
        r = await client.patch(f"/api/v1/cases/{cid}", json={"subject": "x"}, headers=h)
        assert r.status_code == 404
        r = await client.delete(f"/api/v1/cases/{cid}", headers=h)
        assert r.status_code == 404
    # Lists, filters and search show only the customer's own case.
    for path, params in (
        ("/api/v1/portal/cases", {}),
        ("/api/v1/cases", {}),
        ("/api/v1/cases", {"contact_id": str(world.b.contact.id)}),
        ("/api/v1/cases", {"account_id": str(world.b.contact.account_id)}),
        ("/api/v1/cases", {"q": "Globex"}),
        ("/api/v1/portal/cases", {"q": "Globex"}),
        ("/api/v1/cases", {"case_number": theirs["case_number"]}),
    ):
        r = await client.get(path, params=params, headers=h)
        assert r.status_code == 200, r.text
        ids = {c["id"] for c in r.json()["data"]}
        assert ids <= {mine["id"]}, (path, params)
    r = await client.get("/api/v1/cases", params={"owner_id": str(world.agent.id)}, headers=h)
    assert r.status_code == 400  # not a field customers may filter on
    # The change feed and batch obey the same rule.
    r = await client.get("/api/v1/changes", headers=h)
    assert r.status_code == 200
    seen = {c["record_id"] for c in r.json()["data"] if c["object_type"] == "cases"}
    assert seen == {mine["id"]}
    r = await client.post(
        "/api/v1/batch",
        json={"operations": [{"method": "GET", "path": f"/api/v1/cases/{theirs['id']}"}]},
        headers=h,
    )
    if r.status_code == 200:
        assert r.json()["results"][0]["status"] == 404
    # Nothing changed on the other cases.
    r = await client.get(f"/api/v1/cases/{theirs['id']}/comments", headers=world.gh)
    assert r.json()["data"] == []
    assert (await client.get(f"/api/v1/cases/{theirs['id']}", headers=world.gh)).json()[
        "is_closed"
    ] is False


async def test_customers_see_public_comments_only_and_comment_publicly(client, world):
    mine = await post(client, world.a.h, "/api/v1/portal/cases", {"subject": "Help"})
    cid = mine["id"]
    await post(client, world.gh, f"/api/v1/cases/{cid}/comments", {"body": "internal note"})
    await post(
        client,
        world.gh,
        f"/api/v1/cases/{cid}/comments",
        {"body": "We are on it", "is_public": True},
    )
    c = await post(client, world.a.h, f"/api/v1/portal/cases/{cid}/comments", {"body": "Thanks"})
    assert "is_public" not in c
    for path in (f"/api/v1/portal/cases/{cid}/comments", f"/api/v1/cases/{cid}/comments"):
        r = await client.get(path, headers=world.a.h)
        assert [x["body"] for x in r.json()["data"]] == ["We are on it", "Thanks"], path
    r = await client.get(f"/api/v1/cases/{cid}/comments", headers=world.gh)
    assert [x["is_public"] for x in r.json()["data"]] == [False, True, True]
    # Internal comments are refused to customers, and bodies are checked.
    r = await client.post(
        f"/api/v1/cases/{cid}/comments", json={"body": "x", "is_public": False}, headers=world.a.h
    )
    assert r.status_code == 422
    r = await client.post(
        f"/api/v1/portal/cases/{cid}/comments",
        json={"body": "x", "is_public": False},
        headers=world.a.h,
    )
    assert r.status_code == 422
    # History hides the vendor's fields.
    await client.patch(
        f"/api/v1/cases/{cid}", json={"owner_id": str(world.admin.id)}, headers=world.ah
    )
    r = await client.get(f"/api/v1/cases/{cid}/history", headers=world.a.h)
    assert r.status_code == 200
    assert "owner_id" not in {e["field"] for e in r.json()["data"]}


async def test_customers_close_and_reopen_their_case(client, world):
    mine = await post(client, world.a.h, "/api/v1/portal/cases", {"subject": "Solved soon"})
    cid = mine["id"]
    r = await client.post(f"/api/v1/portal/cases/{cid}/reopen", json={}, headers=world.a.h)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.post(
        f"/api/v1/portal/cases/{cid}/close", json={"comment": "Fixed it myself"}, headers=world.a.h
    )
    assert r.status_code == 200, r.text
    assert r.json()["is_closed"] and r.json()["closed_at"] and r.json()["status"] == "Closed"
    r = await client.post(f"/api/v1/portal/cases/{cid}/close", json={}, headers=world.a.h)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.post(f"/api/v1/portal/cases/{cid}/reopen", json={}, headers=world.a.h)
    assert r.status_code == 200 and r.json()["is_closed"] is False and r.json()["closed_at"] is None
    r = await client.get(f"/api/v1/cases/{cid}/history", headers=world.gh)
    changers = {e["changed_by"] for e in r.json()["data"] if e["field"] == "status"}
    assert changers == {str(world.a.user.id)}
    r = await client.get(f"/api/v1/portal/cases/{cid}/comments", headers=world.a.h)
    assert [c["body"] for c in r.json()["data"]] == ["Fixed it myself"]
    r = await client.post(f"/api/v1/portal/cases/{cid}/close", json={"x": 1}, headers=world.a.h)
    assert r.status_code == 422


async def test_scopes_and_principals(client, session, world):
    assert (await client.get("/api/v1/portal/cases")).status_code == 401
    from tests.factories import bearer, make_client, token

    c, secret = await make_client(session, "cases:read", user=world.a.user)
    h = bearer(await token(client, c, secret))
    r = await client.post("/api/v1/portal/cases", json={"subject": "x"}, headers=h)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    r = await client.get("/api/v1/portal/cases", headers=world.gh)
    assert r.status_code == 403 and r.json()["code"] == "portal_only"


async def test_partner_submits_a_case_customers_never_see_it(client, session, world):
    account = await post(client, world.ah, "/api/v1/accounts", {"name": "Partner Co"})
    await post(
        client,
        world.ah,
        f"/api/v1/partners/{account['id']}/enable",
        {"partner_program": "Resellers", "partner_tier": "gold"},
        200,
    )
    body = {
        "email": "rep@partner.example",
        "name": "Rep",
        "password": "correct horse battery",
        "partner_role": "partner_rep",
    }
    u = await post(client, world.ah, f"/api/v1/partners/{account['id']}/users", body)
    from app.models import User

    rep = await session.get(User, uuid.UUID(u["id"]))
    ph = await user_token(client, session, rep, PARTNER)
    case = await post(
        client,
        ph,
        "/api/v1/cases",
        {"subject": "Customer of ours is down", "contact_id": None, "origin": "Web"},
    )
    assert case["partner_account_id"] == account["id"]
    assert (await client.get(f"/api/v1/cases/{case['id']}", headers=ph)).status_code == 200
    for h in (world.a.h, world.b.h):
        assert (await client.get(f"/api/v1/cases/{case['id']}", headers=h)).status_code == 404
        r = await client.get("/api/v1/cases", headers=h)
        assert case["id"] not in {c["id"] for c in r.json()["data"]}
    # A customer cannot see a case an agent logged without a contact either.
    await make_user(session)
    orphan = await post(client, world.gh, "/api/v1/cases", {"subject": "No contact"})
    assert (await client.get(f"/api/v1/cases/{orphan['id']}", headers=world.a.h)).status_code == 404
