"""Lead conversion: what it creates and moves, the rules it enforces, and that concurrent calls
convert a lead exactly once."""

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from app.models import Account, CampaignMember, Contact, Lead, Note, Opportunity, Task
from tests.factories import bearer, make_client, make_user, token, user_token

SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
MARKETING = uuid.UUID("0190f000-0000-7000-8000-000000000004")
SCOPES = (
    "leads:read leads:write leads:convert accounts:read accounts:write contacts:read "
    "contacts:write opportunities:read opportunities:write campaigns:read campaigns:write "
    "activities:read activities:write"
)
LEAD = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "company": "Navy Labs",
    "email": "grace@navy.example.com",
    "phone": "+1 555 0100",
    "industry": "Government",
    "lead_source": "Web",
    "city": "Arlington",
    "country": "US",
    "title": "Rear Admiral",
}


@pytest.fixture
async def rep(client, session):
    user = await make_user(session, role_id=SALES_REP)
    return user, await user_token(client, session, user, SCOPES)


async def _lead(client, h, **extra):
    r = await client.post("/api/v1/leads", json={**LEAD, **extra}, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


async def test_convert_creates_account_contact_and_opportunity(client, session, rep):
    user, h = rep
    lead = await _lead(client, h)
    r = await client.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["lead"]["is_converted"] is True
    assert out["lead"]["status"] == "Closed - Converted"
    assert out["lead"]["converted_account_id"] == out["account_id"]
    assert out["lead"]["converted_contact_id"] == out["contact_id"]
    assert out["lead"]["converted_opportunity_id"] == out["opportunity_id"]

    account = await session.get(Account, uuid.UUID(out["account_id"]))
    assert account.name == "Navy Labs" and account.industry == "Government"
    assert account.billing_city == "Arlington" and account.owner_id == user.id
    contact = await session.get(Contact, uuid.UUID(out["contact_id"]))
    assert (contact.first_name, contact.last_name, contact.email) == (
        "Grace",
        "Hopper",
        "grace@navy.example.com",
    )
    assert contact.account_id == account.id and contact.lead_source == "Web"
    opp = await session.get(Opportunity, uuid.UUID(out["opportunity_id"]))
    assert opp.account_id == account.id and opp.name == "Navy Labs-"
    assert opp.stage == "Prospecting" and opp.lead_source == "Web"

    hist = (await client.get(f"/api/v1/leads/{lead['id']}/history", headers=h)).json()["data"]
    assert "is_converted" in [e["field"] for e in hist]


async def test_convert_for_a_new_owner_the_converter_cannot_see(client, session, rep):
    """Conversion hands the records to a peer (same role: under private sharing the converter
    cannot see the peer's records). The contact and opportunity still attach to the account
    made in the same conversion, and the converter sees none of the three afterwards."""
    _, h = rep
    peer = await make_user(session, role_id=SALES_REP)
    lead = await _lead(client, h)
    r = await client.post(
        f"/api/v1/leads/{lead['id']}/convert", json={"owner_id": str(peer.id)}, headers=h
    )
    assert r.status_code == 200, r.text
    out = r.json()
    contact = await session.get(Contact, uuid.UUID(out["contact_id"]))
    opp = await session.get(Opportunity, uuid.UUID(out["opportunity_id"]))
    assert contact.account_id == opp.account_id == uuid.UUID(out["account_id"])
    assert contact.owner_id == opp.owner_id == peer.id
    for path in (
        f"accounts/{out['account_id']}",
        f"contacts/{out['contact_id']}",
        f"opportunities/{out['opportunity_id']}",
    ):
        assert (await client.get(f"/api/v1/{path}", headers=h)).status_code == 404
    # An account made in another request is still checked: the converter cannot name it.
    other = await _lead(client, h, company="Elsewhere")
    r = await client.post(
        f"/api/v1/leads/{other['id']}/convert", json={"account_id": out["account_id"]}, headers=h
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "account_id"


async def test_converted_lead_is_read_only_and_converts_once(client, rep):
    _, h = rep
    lead = await _lead(client, h)
    url = f"/api/v1/leads/{lead['id']}"
    assert (await client.post(f"{url}/convert", json={}, headers=h)).status_code == 200
    again = await client.post(f"{url}/convert", json={}, headers=h)
    assert again.status_code == 409 and again.json()["code"] == "invalid_state_transition"
    r = await client.patch(url, json={"rating": "Hot"}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    # Converted leads stay readable and in lists.
    listed = await client.get(
        "/api/v1/leads", params={"is_converted": "true", "id": lead["id"]}, headers=h
    )
    assert [x["id"] for x in listed.json()["data"]] == [lead["id"]]


async def test_existing_account_gets_only_empty_fields_and_no_opportunity(client, session, rep):
    _, h = rep
    acc = (
        await client.post(
            "/api/v1/accounts", json={"name": "Navy", "industry": "Engineering"}, headers=h
        )
    ).json()
    lead = await _lead(client, h)
    r = await client.post(
        f"/api/v1/leads/{lead['id']}/convert",
        json={"account_id": acc["id"], "create_opportunity": False},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["account_id"] == acc["id"] and r.json()["opportunity_id"] is None
    account = await session.get(Account, uuid.UUID(acc["id"]))
    await session.refresh(account)
    assert account.industry == "Engineering"  # kept
    assert account.phone == "+1 555 0100"  # was empty: filled


async def test_existing_contact_must_belong_to_the_account(client, session, rep):
    _, h = rep
    acc = (await client.post("/api/v1/accounts", json={"name": "A"}, headers=h)).json()
    stray = (await client.post("/api/v1/contacts", json={"last_name": "Stray"}, headers=h)).json()
    lead = await _lead(client, h)
    before = await session.scalar(select(func.count()).select_from(Account))
    r = await client.post(
        f"/api/v1/leads/{lead['id']}/convert",
        json={"account_id": acc["id"], "contact_id": stray["id"]},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "contact_id"
    assert await session.scalar(select(func.count()).select_from(Account)) == before
    row = await session.get(Lead, uuid.UUID(lead["id"]))
    await session.refresh(row)
    assert row.is_converted is False


async def test_existing_contact_lead_source_only_overwritten_when_asked(client, session, rep):
    _, h = rep
    acc = (await client.post("/api/v1/accounts", json={"name": "A"}, headers=h)).json()
    contact = (
        await client.post(
            "/api/v1/contacts",
            json={"last_name": "Known", "account_id": acc["id"], "lead_source": "Trade Show"},
            headers=h,
        )
    ).json()
    for overwrite, expected in ((False, "Trade Show"), (True, "Web")):
        lead = await _lead(client, h)
        r = await client.post(
            f"/api/v1/leads/{lead['id']}/convert",
            json={
                "account_id": acc["id"],
                "contact_id": contact["id"],
                "create_opportunity": False,
                "overwrite_lead_source": overwrite,
            },
            headers=h,
        )
        assert r.status_code == 200, r.text
        row = await session.get(Contact, uuid.UUID(contact["id"]))
        await session.refresh(row)
        assert row.lead_source == expected


async def test_memberships_tasks_and_notes_move_to_the_new_records(client, session, rep):
    _, h = rep
    lead = await _lead(client, h)
    camp = (await client.post("/api/v1/campaigns", json={"name": "Spring"}, headers=h)).json()
    r = await client.post(
        "/api/v1/campaign-members",
        json={"campaign_id": camp["id"], "lead_id": lead["id"]},
        headers=h,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/v1/tasks",
        json={"subject": "Call", "who_type": "lead", "who_id": lead["id"]},
        headers=h,
    )
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    r = await client.post(
        "/api/v1/notes",
        json={"title": "Met", "body": "x", "parent_type": "lead", "parent_id": lead["id"]},
        headers=h,
    )
    assert r.status_code == 201, r.text
    note_id = r.json()["id"]

    out = (await client.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=h)).json()
    contact_id, opp_id = uuid.UUID(out["contact_id"]), uuid.UUID(out["opportunity_id"])
    member = await session.scalar(
        select(CampaignMember).where(CampaignMember.contact_id == contact_id)
    )
    assert member is not None and str(member.campaign_id) == camp["id"]
    task = await session.get(Task, uuid.UUID(task_id))
    await session.refresh(task)
    assert (task.who_type, task.who_id, task.what_type, task.what_id) == (
        "contact",
        contact_id,
        "opportunity",
        opp_id,
    )
    note = await session.get(Note, uuid.UUID(note_id))
    await session.refresh(note)
    assert (note.parent_type, note.parent_id) == ("contact", contact_id)


async def test_bad_requests_change_nothing(client, session, rep):
    _, h = rep
    lead = await _lead(client, h)
    url = f"/api/v1/leads/{lead['id']}/convert"
    r = await client.post(url, json={"converted_status": "Working - Contacted"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "converted_status"
    r = await client.post(url, json={"account_id": str(uuid.uuid4())}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "account_id"
    r = await client.post(url, json={"is_converted": True}, headers=h)
    assert r.status_code == 422
    row = await session.get(Lead, uuid.UUID(lead["id"]))
    await session.refresh(row)
    assert row.is_converted is False


async def test_convert_needs_the_scope_and_a_visible_lead(client, session, rep):
    _, h = rep
    lead = await _lead(client, h)
    no_convert = await user_token(client, session, rep[0], "leads:read leads:write")
    r = await client.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=no_convert)
    assert r.status_code == 403 and r.json()["scope"] == "leads:convert"
    outsider = await user_token(
        client, session, await make_user(session, role_id=MARKETING), SCOPES
    )
    r = await client.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=outsider)
    assert r.status_code == 404


async def test_ten_concurrent_conversions_convert_once(committed_app):
    app, client = committed_app
    async with app.state.session_factory() as s:
        user = await make_user(s, role_id=SALES_REP)
        api_client, secret = await make_client(s, SCOPES, user=user)
        await s.commit()
    h = bearer(await token(client, api_client, secret))
    company = f"Race {uuid.uuid4().hex[:8]}"
    lead = (await client.post("/api/v1/leads", json={**LEAD, "company": company}, headers=h)).json()
    results = await asyncio.gather(
        *[client.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=h) for _ in range(10)]
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [409] * 9, codes
    async with app.state.session_factory() as s:
        assert await s.scalar(select(func.count()).where(Account.name == company)) == 1
        assert await s.scalar(select(func.count()).where(Opportunity.name == f"{company}-")) == 1
