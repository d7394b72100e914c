"""Org-wide defaults as data: administrators change them through the API, and the next request
of every user follows, because the access clause reads them inside its own SQL."""

import uuid

import pytest
from sqlalchemy import select, text

from app.auth.principal import Principal, PrincipalKind
from app.leads.repository import records as leads
from app.models import Lead, SharingSetting
from tests.factories import make_user, post_ok, user_token

SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
SCOPES = "leads:read leads:write"
LEAD = {"last_name": "Hopper", "company": "Navy"}


@pytest.fixture
async def people(client, session):
    owner = await make_user(session, role_id=SALES_REP, name="Owner")
    other = await make_user(session, role_id=SALES_REP, name="Other")
    admin = await make_user(session, is_admin=True, name="Admin")
    return {
        "owner": await user_token(client, session, owner, SCOPES),
        "other": await user_token(client, session, other, SCOPES),
        "admin": await user_token(client, session, admin, SCOPES + " admin"),
        "admin_id": admin.id,
    }


async def _set(client, headers, status=200, **settings):
    body = {"settings": [{"object": o, "internal_access": a} for o, a in settings.items()]}
    r = await client.patch("/api/v1/sharing-settings", json=body, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


async def test_only_administrators_read_and_change_sharing_settings(client, session, people):
    assert (await client.get("/api/v1/sharing-settings")).status_code == 401
    for method in ("get", "patch"):
        r = await client.request(
            method,
            "/api/v1/sharing-settings",
            json={"settings": [{"object": "leads", "internal_access": "public_read"}]},
            headers=people["owner"],
        )
        assert r.status_code == 403 and r.json()["code"] == "insufficient_scope", method
    stored = await session.scalar(
        select(SharingSetting.internal_access).where(SharingSetting.object == "leads")
    )
    assert stored == "private"


async def test_administrator_lists_every_objects_default(client, people):
    r = await client.get("/api/v1/sharing-settings", headers=people["admin"])
    assert r.status_code == 200
    by_object = {s["object"]: s for s in r.json()["data"]}
    assert by_object["leads"]["internal_access"] == "private"
    assert by_object["products"]["internal_access"] == "public_read"
    assert by_object["leads"]["default_access"] == "private"
    assert {"accounts", "contacts", "opportunity_line_items", "campaign_members"} <= set(by_object)


async def test_bad_changes_are_refused_and_change_nothing(client, session, people):
    body = await _set(client, people["admin"], 422, leads="public_read", widgets="private")
    assert body["errors"][0]["field"] == "settings[1].object"
    body = await _set(client, people["admin"], 422, leads="everyone")
    assert body["errors"][0]["field"].endswith("internal_access")
    r = await client.patch(
        "/api/v1/sharing-settings", json={"settings": []}, headers=people["admin"]
    )
    assert r.status_code == 422
    stored = await session.scalar(
        select(SharingSetting.internal_access).where(SharingSetting.object == "leads")
    )
    assert stored == "private"


async def test_changing_the_default_applies_to_the_next_request(client, session, people):
    lead = await post_ok(client, people["owner"], "leads", LEAD)
    url = f"/api/v1/leads/{lead['id']}"
    other = people["other"]

    assert (await client.get(url, headers=other)).status_code == 404
    listed = await client.get("/api/v1/leads", params={"id": lead["id"]}, headers=other)
    assert listed.json()["data"] == []

    body = await _set(client, people["admin"], leads="public_read")
    leads_setting = next(s for s in body["data"] if s["object"] == "leads")
    assert leads_setting["internal_access"] == "public_read"
    assert leads_setting["updated_by"] == str(people["admin_id"])
    assert (await client.get(url, headers=other)).status_code == 200
    listed = await client.get("/api/v1/leads", params={"id": lead["id"]}, headers=other)
    assert [x["id"] for x in listed.json()["data"]] == [lead["id"]]
    feed = (await client.get("/api/v1/changes", params={"limit": 200}, headers=other)).json()
    assert lead["id"] in [c["record_id"] for c in feed["data"]]
    r = await client.patch(url, json={"rating": "Hot"}, headers=other)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_access"

    await _set(client, people["admin"], leads="public_read_write")
    r = await client.patch(url, json={"rating": "Hot"}, headers=other)
    assert r.status_code == 200 and r.json()["rating"] == "Hot"

    await _set(client, people["admin"], leads="private")
    assert (await client.get(url, headers=other)).status_code == 404
    assert (await client.get(url, headers=people["owner"])).status_code == 200


async def test_an_object_without_a_row_falls_back_to_its_default_in_code(client, session, people):
    lead = await post_ok(client, people["owner"], "leads", LEAD)
    await session.execute(text("DELETE FROM sharing_settings WHERE object = 'leads'"))
    await session.flush()
    r = await client.get(f"/api/v1/leads/{lead['id']}", headers=people["other"])
    assert r.status_code == 404
    r = await client.get("/api/v1/sharing-settings", headers=people["admin"])
    leads_setting = next(s for s in r.json()["data"] if s["object"] == "leads")
    assert leads_setting["internal_access"] == "private" and leads_setting["updated_at"] is None


async def test_get_by_id_uses_the_primary_key_and_reads_the_default_once(session):
    """The org-wide default is an InitPlan (run once per statement), not a per-row subplan, and
    a lead is still found through its primary key."""
    rep = Principal(
        kind=PrincipalKind.user,
        scopes=frozenset({"leads:read"}),
        client_pk=uuid.uuid4(),
        client_id="c",
        user_id=uuid.uuid4(),
        role_id=SALES_REP,
    )
    stmt = leads.visible(rep).where(Lead.id == uuid.uuid4())
    compiled = stmt.compile(session.bind, compile_kwargs={"literal_binds": True})
    plan = [line.strip() for line in (await session.execute(text(f"EXPLAIN {compiled}"))).scalars()]
    assert plan[0].startswith("Index Scan using pk_leads on leads"), plan
    setting = next(i for i, line in enumerate(plan) if "on sharing_settings" in line)
    assert plan[setting - 1].startswith("InitPlan"), plan
    # PostgreSQL 15/16 name the result $0, 17+ (InitPlan 1).col1.
    flt = next(line for line in plan if line.startswith("Filter:"))
    assert "$0" in flt or "(InitPlan 1)" in flt, plan


async def test_line_items_can_follow_their_opportunity(client, session, people):
    scopes = "opportunities:read opportunities:write products:read products:write"
    owner = await make_user(session, role_id=SALES_REP)
    other = await make_user(session, role_id=SALES_REP)
    h = await user_token(client, session, owner, scopes)
    oh = await user_token(client, session, other, scopes)
    opp = await post_ok(client, h, "opportunities", {"name": "Deal", "close_date": "2027-03-31"})
    product = await post_ok(client, h, "products", {"name": "Widget"})
    book = await post_ok(client, h, "price-books", {"name": "EMEA"})
    entry = await post_ok(
        client,
        h,
        "price-book-entries",
        {"price_book_id": book["id"], "product_id": product["id"], "unit_price": "10.00"},
    )
    item = await post_ok(
        client,
        h,
        "opportunity-line-items",
        {"opportunity_id": opp["id"], "price_book_entry_id": entry["id"], "quantity": "1"},
    )
    url = f"/api/v1/opportunity-line-items/{item['id']}"

    body = await _set(client, people["admin"], 422, leads="controlled_by_parent")
    assert body["errors"][0]["field"] == "settings[0].internal_access"

    await _set(client, people["admin"], opportunity_line_items="controlled_by_parent")
    assert (await client.get(url, headers=oh)).status_code == 404  # the opportunity is private
    await _set(client, people["admin"], opportunities="public_read")
    assert (await client.get(url, headers=oh)).status_code == 200
    r = await client.patch(url, json={"description": "x"}, headers=oh)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_access"
    await _set(client, people["admin"], opportunities="public_read_write")
    assert (await client.patch(url, json={"description": "x"}, headers=oh)).status_code == 200
    # Back to private line items: the opportunity's default no longer matters.
    await _set(client, people["admin"], opportunity_line_items="private")
    assert (await client.get(url, headers=oh)).status_code == 404
    assert (await client.get(url, headers=h)).status_code == 200
