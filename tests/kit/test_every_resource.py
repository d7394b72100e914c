"""Every object registered with the resource machinery goes through the same life cycle, and an
outsider is refused on every path. A new object only adds a minimal body here."""

import uuid

import pytest
from sqlalchemy import update

from app.access import Sharing
from app.kit.resource import REGISTRY
from app.models import Lead
from tests.factories import make_user, user_token

SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
MARKETING = uuid.UUID("0190f000-0000-7000-8000-000000000004")

BODIES = {
    "accounts": {"name": "Acme"},
    "contacts": {"last_name": "Lovelace", "first_name": "Ada", "email": "ada@acme.example.com"},
    "leads": {"last_name": "Hopper", "company": "Navy", "email": "grace@navy.example.com"},
    "products": {"name": "Widget", "product_code": "W-1", "family": "Hardware"},
    "price-books": {"name": "EMEA"},
    "price-book-entries": {"unit_price": "100.00"},
    "opportunities": {"name": "Big deal", "close_date": "2027-03-31", "amount": "5000.00"},
    "opportunity-line-items": {"quantity": "2"},
    "campaigns": {"name": "Spring launch", "type": "Webinar"},
    "campaign-members": {},
    "tasks": {"subject": "Call back"},
    "events": {
        "subject": "Demo",
        "start_at": "2027-01-10T10:00:00+00:00",
        "end_at": "2027-01-10T11:00:00+00:00",
    },
    "notes": {"title": "Met the CFO", "parent_type": "account"},
    "email-templates": {
        "name": "Welcome",
        "subject": "Hi {{ lead.first_name }}",
        "text_body": "Hello",
    },
    "mdf-budgets": {
        "title": "FY27 MDF",
        "amount": "10000.00",
        "start_date": "2027-01-01",
        "end_date": "2027-12-31",
    },
    "fund-requests": {
        "title": "Webinar",
        "activity": "Webinar",
        "requested_amount": "1000.00",
        "start_date": "2027-03-01",
        "end_date": "2027-03-02",
    },
    "fund-claims": {
        "title": "Webinar invoice",
        "amount": "500.00",
        "proof_of_performance": [{"name": "Invoice", "url": "https://files.example.com/i.pdf"}],
    },
    "deal-registrations": {"customer_company": "Initech, Inc.", "estimated_amount": "25000.00"},
    "solutions": {"title": "Reset a password", "body": "Open the settings page."},
    "partner-plans": {
        "name": "FY27 plan",
        "period_start": "2027-01-01",
        "period_end": "2027-12-31",
        "targets": {"revenue": "250000.00"},
    },
    "cases": {"subject": "Printer jam", "origin": "Phone"},
    "queues": {"name": "Tier 1"},
    "business-hours": {"name": "Office", "hours": {"monday": [{"start": "09:00", "end": "17:00"}]}},
    "case-assignment-rules": {"name": "Routing"},
    "case-escalation-rules": {"name": "SLA"},
}
PATCH = {
    "accounts": {"industry": "Energy"},
    "contacts": {"title": "CTO"},
    "leads": {"rating": "Hot"},
    "products": {"description": "A fine widget"},
    "price-books": {"description": "Europe"},
    "price-book-entries": {"is_active": False},
    "opportunities": {"next_step": "Send the proposal"},
    "opportunity-line-items": {"description": "Rush delivery"},
    "campaigns": {"status": "Planned"},
    "campaign-members": {"status": "Received"},
    "tasks": {"priority": "High"},
    "events": {"location": "Room 4"},
    "notes": {"body": "They will decide in March"},
    "email-templates": {"folder": "Sales"},
    "mdf-budgets": {"description": "Co-marketing"},
    "fund-requests": {"desired_outcome": "40 qualified leads"},
    "fund-claims": {"description": "Venue and catering"},
    "deal-registrations": {"notes": "Budget approved for Q3"},
    "partner-plans": {"description": "Grow in EMEA"},
    "solutions": {"is_public": True},
    "cases": {"priority": "High"},
    "queues": {"description": "First line"},
    "business-hours": {"name": "Head office"},
    "case-assignment-rules": {"name": "Routing v2"},
    "case-escalation-rules": {"name": "SLA v2"},
}
# Fields naming a parent record: the parent is created (by the same caller) before the object.
PARENTS = {
    "price-book-entries": {"price_book_id": "price-books", "product_id": "products"},
    "opportunity-line-items": {
        "opportunity_id": "opportunities",
        "price_book_entry_id": "price-book-entries",
    },
    "campaign-members": {"campaign_id": "campaigns", "lead_id": "leads"},
    "notes": {"parent_id": "accounts"},
    "mdf-budgets": {"partner_account_id": "partners"},
    "partner-plans": {"partner_account_id": "partners"},
    "fund-requests": {"budget_id": "mdf-budgets"},
    "fund-claims": {"request_id": "fund-requests"},
}
# Workflow steps a parent goes through before its child can be made (a claim needs an approved
# fund request).
PARENT_STEPS = {"fund-requests": ("submit", "approve")}
WITH_EXTERNAL_ID = sorted(
    n for n in BODIES if n in REGISTRY and hasattr(REGISTRY[n].model, "external_id")
)


async def body_for(client, headers, name: str) -> dict:
    """The minimal body of ``name``, with its parents created by the caller."""
    body = dict(BODIES[name])
    for field, parent in PARENTS.get(name, {}).items():
        body[field] = await make_parent(client, headers, parent)
    return body


async def make_parent(client, headers, parent: str) -> str:
    if parent == "partners":  # an account enabled as a partner
        r = await client.post("/api/v1/accounts", json={"name": "Partner Co"}, headers=headers)
        assert r.status_code == 201, r.text
        account_id = r.json()["id"]
        r = await client.post(
            f"/api/v1/partners/{account_id}/enable", json={"partner_tier": "gold"}, headers=headers
        )
        assert r.status_code == 200, r.text
        return account_id
    url = REGISTRY[parent].url
    r = await client.post(url, json=await body_for(client, headers, parent), headers=headers)
    assert r.status_code == 201, r.text
    record_id = r.json()["id"]
    for step in PARENT_STEPS.get(parent, ()):
        r = await client.post(f"{url}/{record_id}/{step}", headers=headers)
        assert r.status_code == 200, r.text
    return record_id


def test_every_registered_resource_has_a_test_body():
    assert set(REGISTRY) == set(BODIES) == set(PATCH)


@pytest.fixture
async def two_users(client, session):
    async def headers(role):
        user = await make_user(session, role_id=role)
        scopes = " ".join(f"{r.scope}:read {r.scope}:write" for r in REGISTRY.values())
        scopes += " cases:route"  # case routing set-up (app/cases)
        return user, await user_token(client, session, user, scopes)

    return await headers(SALES_REP), await headers(MARKETING)


@pytest.mark.parametrize("name", sorted(BODIES))
async def test_life_cycle(client, two_users, name):
    (owner, h), _ = two_users
    base = REGISTRY[name].url
    r = await client.post(base, json=await body_for(client, h, name), headers=h)
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["owner_id"] == str(owner.id) and rec["version"] == 1
    url = f"{base}/{rec['id']}"

    listed = await client.get(base, params={"owner_id": str(owner.id)}, headers=h)
    assert [x["id"] for x in listed.json()["data"]] == [rec["id"]]
    r = await client.patch(url, json=PATCH[name], headers={**h, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 2
    r = await client.patch(url, json=PATCH[name], headers={**h, "If-Match": '"1"'})
    assert r.status_code == 412
    assert (await client.delete(url, headers=h)).status_code == 204
    assert (await client.get(url, headers=h)).status_code == 404
    assert (await client.post(f"{url}/restore", headers=h)).status_code == 200
    fields = [e["field"] for e in (await client.get(f"{url}/history", headers=h)).json()["data"]]
    assert fields == ["created", *PATCH[name], "deleted", "restored"]


PRIVATE = sorted(n for n in BODIES if n in REGISTRY and REGISTRY[n].sharing == Sharing.private)
PUBLIC_READ = sorted(
    n for n in BODIES if n in REGISTRY and REGISTRY[n].sharing == Sharing.public_read
)


def test_every_resource_is_private_or_public_read():
    assert set(PRIVATE) | set(PUBLIC_READ) == set(REGISTRY)


@pytest.mark.parametrize("name", PRIVATE)
async def test_outsider_is_refused_on_every_path(client, two_users, name):
    (_, owner_h), (_, h) = two_users
    base = REGISTRY[name].url
    rec = await client.post(base, json=await body_for(client, owner_h, name), headers=owner_h)
    rec = rec.json()
    url = f"{base}/{rec['id']}"
    assert (await client.get(url, headers=h)).status_code == 404
    assert (await client.get(base, params={"id": rec["id"]}, headers=h)).json()["data"] == []
    assert (await client.patch(url, json=PATCH[name], headers=h)).status_code == 404
    assert (await client.delete(url, headers=h)).status_code == 404
    assert (await client.get(f"{url}/history", headers=h)).status_code == 404
    changes = (await client.get("/api/v1/changes", params={"limit": 200}, headers=h)).json()
    assert rec["id"] not in [c["record_id"] for c in changes["data"]]
    await client.delete(url, headers=owner_h)
    assert (await client.post(f"{url}/restore", headers=h)).status_code == 404


@pytest.mark.parametrize("name", PUBLIC_READ)
async def test_outsider_reads_but_cannot_change_public_read_objects(client, two_users, name):
    (_, owner_h), (_, h) = two_users
    base = REGISTRY[name].url
    rec = await client.post(base, json=await body_for(client, owner_h, name), headers=owner_h)
    rec = rec.json()
    url = f"{base}/{rec['id']}"
    assert (await client.get(url, headers=h)).status_code == 200
    listed = (await client.get(base, params={"id": rec["id"]}, headers=h)).json()["data"]
    assert [x["id"] for x in listed] == [rec["id"]]
    r = await client.patch(url, json=PATCH[name], headers=h)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_access"
    r = await client.delete(url, headers=h)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_access"
    assert (await client.get(url, headers=owner_h)).json()["version"] == 1
    assert (await client.get(f"{url}/history", headers=h)).status_code == 200
    assert (await client.delete(url, headers=owner_h)).status_code == 204
    assert (await client.get(url, headers=h)).status_code == 404
    r = await client.post(f"{url}/restore", headers=h)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_access"


def test_upsert_is_offered_exactly_where_there_is_an_external_id():
    assert {"accounts", "contacts", "leads", "products", "opportunities"} == set(WITH_EXTERNAL_ID)


@pytest.mark.parametrize("name", WITH_EXTERNAL_ID)
async def test_upsert_by_external_id(client, two_users, name):
    (_, h), (_, outsider) = two_users
    ext = f"crm-{uuid.uuid4().hex[:8]}"
    url = f"/api/v1/{name}/by-external-id/{ext}"
    r = await client.put(url, json=BODIES[name], headers=h)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["external_id"] == ext
    r = await client.put(url, json={**BODIES[name], **PATCH[name]}, headers=h)
    assert r.status_code == 200
    assert r.json()["id"] == first["id"] and r.json()["version"] == 2
    r = await client.put(url, json=BODIES[name], headers=outsider)
    if name in PUBLIC_READ:
        # Someone who can see the record but not change it is refused.
        assert r.status_code == 403 and r.json()["code"] == "insufficient_access"
    else:
        # Someone who cannot see the record cannot take over its external id.
        assert r.status_code == 409 and r.json()["code"] == "duplicate_detected"


async def test_contact_cannot_point_at_an_account_the_caller_cannot_see(client, two_users):
    (_, owner_h), (_, h) = two_users
    acc = (await client.post("/api/v1/accounts", json={"name": "Hidden"}, headers=owner_h)).json()
    r = await client.post(
        "/api/v1/contacts", json={"last_name": "X", "account_id": acc["id"]}, headers=h
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "account_id"
    r = await client.post(
        "/api/v1/contacts", json={"last_name": "X", "account_id": acc["id"]}, headers=owner_h
    )
    assert r.status_code == 201


async def test_converted_lead_is_read_only(client, session, two_users):
    (_, h), _ = two_users
    lead = (await client.post("/api/v1/leads", json=BODIES["leads"], headers=h)).json()
    await session.execute(
        update(Lead).where(Lead.id == uuid.UUID(lead["id"])).values(is_converted=True)
    )
    r = await client.patch(f"/api/v1/leads/{lead['id']}", json={"rating": "Cold"}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.post(
        "/api/v1/leads", json={**BODIES["leads"], "is_converted": True}, headers=h
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "is_converted"
