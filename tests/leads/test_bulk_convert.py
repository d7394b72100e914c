"""Bulk lead conversion: up to 100 leads per call, each converted on its own (one failing leaves
the others converted), results in order with the single conversion's answer or its problem."""

import uuid

import pytest
from sqlalchemy import func, select

from app.models import Account, Contact, Lead, Opportunity
from tests.factories import make_user, user_token

SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
MARKETING = uuid.UUID("0190f000-0000-7000-8000-000000000004")
SCOPES = (
    "leads:read leads:write leads:convert accounts:read accounts:write contacts:read "
    "contacts:write opportunities:read opportunities:write"
)
URL = "/api/v1/leads/convert"


@pytest.fixture
async def rep(client, session):
    user = await make_user(session, role_id=SALES_REP)
    return user, await user_token(client, session, user, SCOPES)


async def _lead(client, h, company: str) -> dict:
    r = await client.post(
        "/api/v1/leads",
        json={"last_name": "Lee", "company": company, "lead_source": "Web"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _accounts_named(session, name: str) -> int:
    return await session.scalar(select(func.count()).where(Account.name == name))


async def test_one_bad_lead_does_not_stop_the_others(client, session, rep):
    _, h = rep
    first = await _lead(client, h, "Alpha Co")
    converted = await _lead(client, h, "Beta Co")
    r = await client.post(f"/api/v1/leads/{converted['id']}/convert", json={}, headers=h)
    assert r.status_code == 200
    bad_status = await _lead(client, h, "Gamma Co")
    bad_contact = await _lead(client, h, "Delta Co")
    other = await make_user(session, role_id=MARKETING)
    hidden = await _lead(client, await user_token(client, session, other, SCOPES), "Hidden Co")
    last = await _lead(client, h, "Omega Co")
    someone_elses_contact = await session.scalar(select(Contact.id).limit(1))
    missing = uuid.uuid4()

    r = await client.post(
        URL,
        json={
            "conversions": [
                {"lead_id": first["id"]},
                {"lead_id": converted["id"]},
                {"lead_id": bad_status["id"], "converted_status": "Working - Contacted"},
                # The account is made, then the contact check fails: the account goes too.
                {"lead_id": bad_contact["id"], "contact_id": str(someone_elses_contact)},
                {"lead_id": hidden["id"]},
                {"lead_id": str(missing)},
                {"lead_id": last["id"], "create_opportunity": False, "opportunity_name": "x"},
            ]
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [(x["lead_id"], x["status"]) for x in results] == [
        (first["id"], 200),
        (converted["id"], 409),
        (bad_status["id"], 422),
        (bad_contact["id"], 422),
        (hidden["id"], 404),
        (str(missing), 404),
        (last["id"], 200),
    ]
    ok = results[0]["body"]
    assert ok["lead_id"] == first["id"] and ok["lead"]["is_converted"] is True
    assert ok["lead"]["status"] == "Closed - Converted"
    assert ok["opportunity_id"] is not None
    assert results[6]["body"]["opportunity_id"] is None
    assert results[1]["problem"]["code"] == "invalid_state_transition"
    assert results[2]["problem"]["errors"][0]["field"] == "converted_status"
    assert results[3]["problem"]["errors"][0]["field"] == "contact_id"
    assert results[4]["problem"]["code"] == "not_found"
    assert "body" not in results[4] and "problem" not in results[0]

    def lead(x):
        return session.get(Lead, uuid.UUID(x["id"]), populate_existing=True)

    assert (await lead(first)).converted_account_id == uuid.UUID(ok["account_id"])
    assert (await lead(last)).is_converted is True
    for failed in (bad_status, bad_contact, hidden):
        assert (await lead(failed)).is_converted is False
    opp = await session.get(Opportunity, uuid.UUID(ok["opportunity_id"]))
    assert opp.stage == "Prospecting" and opp.lead_source == "Web"
    assert await _accounts_named(session, "Alpha Co") == 1
    assert await _accounts_named(session, "Delta Co") == 0
    assert await _accounts_named(session, "Gamma Co") == 0
    assert await _accounts_named(session, "Hidden Co") == 0


async def test_the_same_lead_twice_converts_once(client, session, rep):
    _, h = rep
    lead = await _lead(client, h, "Twice Co")
    r = await client.post(
        URL, json={"conversions": [{"lead_id": lead["id"]}, {"lead_id": lead["id"]}]}, headers=h
    )
    assert [x["status"] for x in r.json()["results"]] == [200, 409]
    assert await _accounts_named(session, "Twice Co") == 1


async def test_more_than_100_is_422_and_converts_nothing(client, session, rep):
    _, h = rep
    lead = await _lead(client, h, "Many Co")
    conversions = [{"lead_id": lead["id"]}] + [{"lead_id": str(uuid.uuid4())} for _ in range(100)]
    r = await client.post(URL, json={"conversions": conversions}, headers=h)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "conversions"
    stored = await session.get(Lead, uuid.UUID(lead["id"]), populate_existing=True)
    assert stored.is_converted is False
    r = await client.post(URL, json={"conversions": []}, headers=h)
    assert r.status_code == 422
    r = await client.post(URL, json={"conversions": [{"lead_id": "nope"}]}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "conversions.0.lead_id"
    r = await client.post(
        URL, json={"conversions": [{"lead_id": lead["id"], "is_converted": True}]}, headers=h
    )
    assert r.status_code == 422


async def test_bulk_convert_needs_the_convert_scope(client, session, rep):
    user, h = rep
    lead = await _lead(client, h, "Scope Co")
    body = {"conversions": [{"lead_id": lead["id"]}]}
    r = await client.post(URL, json=body)
    assert r.status_code == 401
    no_convert = await user_token(client, session, user, "leads:read leads:write")
    r = await client.post(URL, json=body, headers=no_convert)
    assert r.status_code == 403 and r.json()["scope"] == "leads:convert"
    stored = await session.get(Lead, uuid.UUID(lead["id"]), populate_existing=True)
    assert stored.is_converted is False


async def test_bulk_route_leaves_the_record_routes_alone(client, session, rep):
    _, h = rep
    lead = await _lead(client, h, "Route Co")
    # "convert" is not a lead id, and a single conversion still works.
    r = await client.get(URL, headers=h)
    assert r.status_code in (405, 422)
    r = await client.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=h)
    assert r.status_code == 200
    r = await client.get(f"/api/v1/leads/{lead['id']}", headers=h)
    assert r.status_code == 200 and r.json()["is_converted"] is True
