"""Campaigns: a hierarchy without cycles; members: exactly one of lead and contact, once each."""

import uuid

import pytest

from tests.factories import make_user, post_ok, user_token

SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
SCOPES = "campaigns:read campaigns:write leads:read leads:write contacts:read contacts:write"


@pytest.fixture
async def h(client, session):
    rep = await make_user(session, role_id=SALES_REP)
    return await user_token(client, session, rep, SCOPES)


async def test_campaign_hierarchy_refuses_cycles(client, h):
    top = await post_ok(client, h, "campaigns", {"name": "Top"})
    mid = await post_ok(client, h, "campaigns", {"name": "Mid", "parent_id": top["id"]})
    low = await post_ok(client, h, "campaigns", {"name": "Low", "parent_id": mid["id"]})
    for parent in (low["id"], top["id"]):
        r = await client.patch(
            f"/api/v1/campaigns/{top['id']}", json={"parent_id": parent}, headers=h
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "parent_id"
        assert r.json()["errors"][0]["code"] == "cycle"
    err = await post_ok(client, h, "campaigns", {"name": "X", "parent_id": str(uuid.uuid4())}, 422)
    assert err["errors"][0]["field"] == "parent_id"


async def test_member_needs_exactly_one_of_lead_and_contact(client, h):
    campaign = await post_ok(client, h, "campaigns", {"name": "Webinar"})
    lead = await post_ok(client, h, "leads", {"last_name": "Hopper", "company": "Navy"})
    contact = await post_ok(client, h, "contacts", {"last_name": "Lovelace"})
    both = {"campaign_id": campaign["id"], "lead_id": lead["id"], "contact_id": contact["id"]}
    err = await post_ok(client, h, "campaign-members", both, status=422)
    assert err["errors"][0]["code"] == "exactly_one"
    err = await post_ok(client, h, "campaign-members", {"campaign_id": campaign["id"]}, status=422)
    assert err["errors"][0]["code"] == "exactly_one"
    await post_ok(
        client, h, "campaign-members", {"campaign_id": campaign["id"], "lead_id": lead["id"]}
    )
    await post_ok(
        client, h, "campaign-members", {"campaign_id": campaign["id"], "contact_id": contact["id"]}
    )


async def test_a_lead_or_contact_is_a_member_once(client, h):
    campaign = await post_ok(client, h, "campaigns", {"name": "Webinar"})
    lead = await post_ok(client, h, "leads", {"last_name": "Hopper", "company": "Navy"})
    contact = await post_ok(client, h, "contacts", {"last_name": "Lovelace"})
    for body in ({"lead_id": lead["id"]}, {"contact_id": contact["id"]}):
        body = {"campaign_id": campaign["id"], **body}
        first = await post_ok(client, h, "campaign-members", body)
        dup = await post_ok(client, h, "campaign-members", body, status=409)
        assert dup["code"] == "duplicate_detected" and dup["existing_id"] == first["id"]


async def test_responded_status_marks_the_member(client, h):
    campaign = await post_ok(client, h, "campaigns", {"name": "Webinar"})
    lead = await post_ok(client, h, "leads", {"last_name": "Hopper", "company": "Navy"})
    member = await post_ok(
        client, h, "campaign-members", {"campaign_id": campaign["id"], "lead_id": lead["id"]}
    )
    assert member["status"] == "Sent" and member["has_responded"] is False
    assert member["first_responded_date"] is None
    url = f"/api/v1/campaign-members/{member['id']}"
    r = await client.patch(url, json={"status": "Responded"}, headers=h)
    assert r.json()["has_responded"] is True and r.json()["first_responded_date"] is not None
    first = r.json()["first_responded_date"]
    r = await client.patch(url, json={"status": "Sent"}, headers=h)
    assert r.json()["has_responded"] is False and r.json()["first_responded_date"] == first
    r = await client.patch(url, json={"has_responded": True}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "has_responded"
