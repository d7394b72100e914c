"""Picklists: values as data, read by whoever reads the object, changed by administrators only;
writes take only active values (a deactivated value stays on records that have it), creates get
the default, opportunity stages carry their probability, lead conversion uses the statuses
flagged converted."""

import uuid

import pytest
from sqlalchemy import event, select

from app.models import Lead, Opportunity, OpportunityStageHistory, PicklistValue
from app.picklists.cache import TTL_SECONDS, picklists
from tests.factories import make_user, post_ok, user_token

SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
SCOPES = (
    "leads:read leads:write leads:convert accounts:read accounts:write contacts:read "
    "contacts:write opportunities:read opportunities:write campaigns:read campaigns:write"
)
LEAD = {"last_name": "Hopper", "company": "Navy Labs"}
OPP = {"name": "Big deal", "close_date": "2027-03-31"}


@pytest.fixture
async def h(client, session):
    rep = await make_user(session, role_id=SALES_REP)
    admin = await make_user(session, is_admin=True)
    return {
        "rep": await user_token(client, session, rep, SCOPES),
        "admin": await user_token(client, session, admin, f"admin {SCOPES}"),
        "leads_only": await user_token(client, session, rep, "leads:read"),
    }


async def _value(session, obj: str, field: str, value: str) -> PicklistValue:
    row = await session.scalar(
        select(PicklistValue)
        .where(PicklistValue.object == obj, PicklistValue.field == field)
        .where(PicklistValue.value == value)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


async def _patch(client, headers, path, body, status=200):
    r = await client.patch(f"/api/v1/{path}", json=body, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


def _value_path(row: PicklistValue, obj: str | None = None, field: str | None = None) -> str:
    return f"picklists/{obj or row.object}/{field or row.field}/values/{row.id}"


# --- reading ---------------------------------------------------------------------------------


async def test_lead_statuses_are_seeded_with_the_converted_one_and_a_default(client, h):
    r = await client.get("/api/v1/picklists/leads/status", headers=h["leads_only"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["attributes"] == ["is_converted"]
    values = [(v["value"], v["is_default"], v["is_converted"]) for v in body["values"]]
    assert values == [
        ("Open - Not Contacted", True, False),
        ("Working - Contacted", False, False),
        ("Closed - Converted", False, True),
        ("Closed - Not Converted", False, False),
    ]


async def test_readers_see_the_picklists_of_objects_they_may_read(client, h):
    r = await client.get("/api/v1/picklists", headers=h["leads_only"])
    assert r.status_code == 200
    fields = {(f["object"], f["field"]) for f in r.json()["data"]}
    assert fields == {
        ("leads", "status"),
        ("leads", "lead_source"),
        ("leads", "rating"),
        ("leads", "industry"),
    }
    industry = next(f for f in r.json()["data"] if f["field"] == "industry")
    assert industry["value_set"] == "accounts.industry"
    assert industry["used_by"] == ["accounts.industry", "leads.industry"]

    r = await client.get("/api/v1/picklists/opportunities/stage", headers=h["leads_only"])
    assert r.status_code == 403 and r.json()["scope"] == "opportunities:read"
    r = await client.get("/api/v1/picklists/leads/nothing", headers=h["leads_only"])
    assert r.status_code == 404
    r = await client.get("/api/v1/picklists")
    assert r.status_code == 401

    r = await client.get("/api/v1/picklists", params={"object": "campaigns"}, headers=h["admin"])
    assert {f["field"] for f in r.json()["data"]} == {"type", "status"}


# --- administering ---------------------------------------------------------------------------


async def test_only_administrators_change_picklists(client, session, h):
    hot = await _value(session, "accounts", "rating", "Hot")
    r = await client.post(
        "/api/v1/picklists/leads/rating/values", json={"value": "Lukewarm"}, headers=h["rep"]
    )
    assert r.status_code == 403 and r.json()["scope"] == "admin"
    r = await client.patch(f"/api/v1/{_value_path(hot)}", json={"label": "X"}, headers=h["rep"])
    assert r.status_code == 403
    r = await client.delete(f"/api/v1/{_value_path(hot)}", headers=h["rep"])
    assert r.status_code == 403
    hot = await _value(session, "accounts", "rating", "Hot")
    assert (hot.label, hot.is_active) == ("Hot", True)
    rows = await session.scalars(select(PicklistValue.value).where(PicklistValue.field == "rating"))
    assert sorted(rows) == ["Cold", "Hot", "Warm"]


async def test_inactive_value_is_refused_on_writes_but_stays_on_records(client, session, h):
    lead = await post_ok(client, h["rep"], "leads", {**LEAD, "lead_source": "Purchased List"})
    row = await _value(session, "leads", "lead_source", "Purchased List")
    out = await _patch(client, h["admin"], _value_path(row), {"is_active": False})
    assert out["is_active"] is False

    err = await post_ok(
        client, h["rep"], "leads", {**LEAD, "lead_source": "Purchased List"}, status=422
    )
    assert err["errors"][0] == {
        "field": "lead_source",
        "code": "invalid_picklist_value",
        "message": err["errors"][0]["message"],
    }
    # The value set is shared: contacts and opportunities refuse it too.
    err = await post_ok(
        client,
        h["rep"],
        "contacts",
        {"last_name": "Lovelace", "lead_source": "Purchased List"},
        status=422,
    )
    assert err["errors"][0]["field"] == "lead_source"

    # The lead that has it keeps it, through other changes and when it is sent unchanged.
    path = f"leads/{lead['id']}"
    kept = await _patch(client, h["rep"], path, {"rating": "Hot", "lead_source": "Purchased List"})
    assert kept["lead_source"] == "Purchased List" and kept["rating"] == "Hot"
    stored = await session.get(Lead, uuid.UUID(lead["id"]), populate_existing=True)
    assert stored.lead_source == "Purchased List"
    # Moving away is allowed; moving back is not.
    await _patch(client, h["rep"], path, {"lead_source": "Web"})
    err = await _patch(client, h["rep"], path, {"lead_source": "Purchased List"}, 422)
    assert err["errors"][0]["field"] == "lead_source"

    r = await client.get("/api/v1/picklists/leads/lead_source", headers=h["rep"])
    assert "Purchased List" not in [v["value"] for v in r.json()["values"]]
    r = await client.get(
        "/api/v1/picklists/leads/lead_source",
        params={"include_inactive": "true"},
        headers=h["rep"],
    )
    assert "Purchased List" in [v["value"] for v in r.json()["values"]]

    # Reactivated, it is accepted again.
    await _patch(client, h["admin"], _value_path(row), {"is_active": True})
    await post_ok(client, h["rep"], "leads", {**LEAD, "lead_source": "Purchased List"})


async def test_unknown_value_is_422_naming_the_field(client, session, h):
    for path, body, field in (
        ("leads", {**LEAD, "status": "Bogus"}, "status"),
        ("leads", {**LEAD, "industry": "Defense"}, "industry"),
        ("accounts", {"name": "Navy", "rating": "Tepid"}, "rating"),
        ("campaigns", {"name": "Spring", "type": "Skywriting"}, "type"),
        ("opportunities", {**OPP, "type": "Upsell"}, "type"),
    ):
        err = await post_ok(client, h["rep"], path, body, status=422)
        assert err["code"] == "validation_error"
        assert err["errors"][0]["field"] == field, err
        assert err["errors"][0]["code"] == "invalid_picklist_value"
    lead = await post_ok(client, h["rep"], "leads", LEAD)
    err = await _patch(client, h["rep"], f"leads/{lead['id']}", {"status": "Bogus"}, 422)
    assert err["errors"][0]["field"] == "status"
    stored = await session.get(Lead, uuid.UUID(lead["id"]), populate_existing=True)
    assert stored.status == "Open - Not Contacted"
    # Case matters: values are exact.
    err = await post_ok(client, h["rep"], "accounts", {"name": "N", "rating": "hot"}, status=422)
    assert err["errors"][0]["field"] == "rating"


async def test_new_stage_with_probability_35_sets_it_on_opportunities(client, session, h):
    r = await client.post(
        "/api/v1/picklists/opportunities/stage/values",
        json={
            "value": "Proof of Concept",
            "probability": 35,
            "forecast_category": "pipeline",
            "sort_order": 35,
        },
        headers=h["admin"],
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["label"], created["is_closed"], created["is_won"]) == (
        "Proof of Concept",
        False,
        False,
    )
    assert r.headers["location"].endswith(f"/values/{created['id']}")
    row = await _value(session, "opportunities", "stage", "Proof of Concept")
    assert (row.probability, row.is_active, row.is_default) == (35, True, False)

    opp = await post_ok(client, h["rep"], "opportunities", OPP)
    moved = await _patch(
        client, h["rep"], f"opportunities/{opp['id']}", {"stage": "Proof of Concept"}
    )
    assert (moved["probability"], moved["forecast_category"]) == (35, "pipeline")
    assert moved["is_closed"] is False
    history = (
        await session.scalars(
            select(OpportunityStageHistory.probability)
            .where(OpportunityStageHistory.opportunity_id == uuid.UUID(opp["id"]))
            .order_by(OpportunityStageHistory.id)
        )
    ).all()
    assert history == [10, 35]

    stages = (await client.get("/api/v1/picklists/opportunities/stage", headers=h["rep"])).json()[
        "values"
    ]
    names = [v["value"] for v in stages]
    assert names.index("Proof of Concept") == names.index("Needs Analysis") + 1

    # A new closed-won stage makes opportunities closed and won.
    r = await client.post(
        "/api/v1/picklists/opportunities/stage/values",
        json={"value": "Signed", "probability": 100, "forecast_category": "closed", "is_won": True},
        headers=h["admin"],
    )
    assert r.status_code == 201 and r.json()["is_closed"] is True
    won = await _patch(client, h["rep"], f"opportunities/{opp['id']}", {"stage": "Signed"})
    assert (won["is_closed"], won["is_won"], won["probability"]) == (True, True, 100)

    # Changing a stage's probability applies to later moves; records keep theirs.
    await _patch(client, h["admin"], _value_path(row), {"probability": 40})
    stored = await session.get(Opportunity, uuid.UUID(opp["id"]), populate_existing=True)
    assert stored.probability == 100
    other = await post_ok(client, h["rep"], "opportunities", {**OPP, "stage": "Proof of Concept"})
    assert other["probability"] == 40


async def test_value_rules(client, session, h):
    admin = h["admin"]
    url = "/api/v1/picklists/opportunities/stage/values"
    r = await client.post(url, json={"value": "Maybe"}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "probability"
    r = await client.post(
        url,
        json={
            "value": "Odd",
            "probability": 5,
            "forecast_category": "pipeline",
            "is_won": True,
            "is_closed": False,
        },
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "is_won"
    r = await client.post(
        url,
        json={"value": "Qualification", "probability": 5, "forecast_category": "pipeline"},
        headers=admin,
    )
    assert r.status_code == 409 and r.json()["code"] == "duplicate_value"
    r = await client.post(
        "/api/v1/picklists/leads/lead_source/values",
        json={"value": "Podcast", "probability": 20},
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "probability"
    # Lead and account rating columns hold 20 characters.
    r = await client.post(
        "/api/v1/picklists/leads/rating/values", json={"value": "x" * 21}, headers=admin
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "value"
    r = await client.post(
        "/api/v1/picklists/leads/rating/values",
        json={"value": "Cold", "label": "Icy"},
        headers=admin,
    )
    assert r.status_code == 409
    # The API value never changes.
    hot = await _value(session, "accounts", "rating", "Hot")
    r = await client.patch(f"/api/v1/{_value_path(hot)}", json={"value": "Hotter"}, headers=admin)
    assert r.status_code == 422
    r = await client.patch(f"/api/v1/{_value_path(hot)}", json={"label": None}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "label"
    # A value id under another field is not found.
    r = await client.patch(
        f"/api/v1/{_value_path(hot, 'campaigns', 'status')}", json={"label": "X"}, headers=admin
    )
    assert r.status_code == 404
    # Shared value sets are reached through any field that uses them.
    out = await _patch(client, admin, _value_path(hot, "leads", "rating"), {"label": "Very hot"})
    assert (out["object"], out["field"], out["label"]) == ("accounts", "rating", "Very hot")


async def test_one_default_that_moves_and_applies_to_new_records(client, session, h):
    working = await _value(session, "leads", "status", "Working - Contacted")
    out = await _patch(client, h["admin"], _value_path(working), {"is_default": True})
    assert out["is_default"] is True
    old = await _value(session, "leads", "status", "Open - Not Contacted")
    assert old.is_default is False
    defaults = await session.scalars(
        select(PicklistValue.value).where(
            PicklistValue.object == "leads",
            PicklistValue.field == "status",
            PicklistValue.is_default,
        )
    )
    assert list(defaults) == ["Working - Contacted"]

    lead = await post_ok(client, h["rep"], "leads", LEAD)
    assert lead["status"] == "Working - Contacted"
    given = await post_ok(client, h["rep"], "leads", {**LEAD, "status": "Open - Not Contacted"})
    assert given["status"] == "Open - Not Contacted"

    # Lead status always has a default; a default is active.
    err = await _patch(client, h["admin"], _value_path(working), {"is_default": False}, 422)
    assert err["errors"][0]["code"] == "default_required"
    err = await _patch(client, h["admin"], _value_path(working), {"is_active": False}, 422)
    assert err["errors"][0]["field"] == "is_active"
    # A field without a default (campaign status) can get one, and lose it again.
    planned = await _value(session, "campaigns", "status", "Planned")
    await _patch(client, h["admin"], _value_path(planned), {"is_default": True})
    camp = await post_ok(client, h["rep"], "campaigns", {"name": "Spring"})
    assert camp["status"] == "Planned"
    await _patch(client, h["admin"], _value_path(planned), {"is_default": False})
    camp = await post_ok(client, h["rep"], "campaigns", {"name": "Summer"})
    assert camp["status"] is None


async def test_value_in_use_cannot_be_deleted(client, session, h):
    await post_ok(client, h["rep"], "leads", {**LEAD, "rating": "Warm"})
    warm = await _value(session, "accounts", "rating", "Warm")
    r = await client.delete(f"/api/v1/{_value_path(warm)}", headers=h["admin"])
    assert r.status_code == 409 and r.json()["code"] == "picklist_value_in_use"
    assert (await _value(session, "accounts", "rating", "Warm")).is_active is True

    default = await _value(session, "leads", "status", "Open - Not Contacted")
    r = await client.delete(f"/api/v1/{_value_path(default)}", headers=h["admin"])
    assert r.status_code == 409

    created = await post_ok(
        client, h["admin"], "picklists/leads/rating/values", {"value": "Lukewarm"}
    )
    r = await client.delete(
        f"/api/v1/picklists/leads/rating/values/{created['id']}", headers=h["admin"]
    )
    assert r.status_code == 204
    gone = await session.get(PicklistValue, uuid.UUID(created["id"]), populate_existing=True)
    assert gone is None
    err = await post_ok(client, h["rep"], "leads", {**LEAD, "rating": "Lukewarm"}, status=422)
    assert err["errors"][0]["field"] == "rating"


async def test_conversion_uses_the_statuses_flagged_converted(client, session, h):
    qualified = await post_ok(
        client,
        h["admin"],
        "picklists/leads/status/values",
        {"value": "Qualified", "is_converted": True, "sort_order": 1},
    )
    assert qualified["is_converted"] is True
    lead = await post_ok(client, h["rep"], "leads", LEAD)
    r = await client.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=h["rep"])
    assert r.status_code == 200, r.text
    # Without converted_status: the first converted status in sort order.
    assert r.json()["lead"]["status"] == "Qualified"

    closed = await _value(session, "leads", "status", "Closed - Converted")
    await _patch(client, h["admin"], _value_path(closed), {"is_active": False})
    lead = await post_ok(client, h["rep"], "leads", LEAD)
    url = f"/api/v1/leads/{lead['id']}/convert"
    r = await client.post(url, json={"converted_status": "Closed - Converted"}, headers=h["rep"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "converted_status"
    # The last active converted status cannot go.
    err = await _patch(
        client,
        h["admin"],
        f"picklists/leads/status/values/{qualified['id']}",
        {"is_active": False},
        422,
    )
    assert err["errors"][0]["code"] == "last_converted_status"
    r = await client.post(url, json={"converted_status": "Qualified"}, headers=h["rep"])
    assert r.status_code == 200
    stored = await session.get(Lead, uuid.UUID(lead["id"]), populate_existing=True)
    assert (stored.is_converted, stored.status) == (True, "Qualified")


# --- the snapshot ------------------------------------------------------------------------------


async def test_writes_read_picklists_from_the_snapshot_not_the_database(client, session, h, engine):
    await post_ok(client, h["rep"], "leads", LEAD)  # loads the snapshot
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        lead = await post_ok(client, h["rep"], "leads", {**LEAD, "rating": "Hot"})
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert lead["status"] == "Open - Not Contacted"
    assert statements and not [s for s in statements if "picklist_values" in s]


async def test_another_process_change_is_seen_within_the_ttl(client, session, h):
    await post_ok(client, h["rep"], "leads", LEAD)  # loads the snapshot
    # A value added behind this process's back (as by another server process).
    session.add(PicklistValue(object="accounts", field="rating", value="Frozen", label="Frozen"))
    await session.flush()
    err = await post_ok(client, h["rep"], "leads", {**LEAD, "rating": "Frozen"}, status=422)
    assert err["errors"][0]["field"] == "rating"
    picklists._loaded_at -= TTL_SECONDS  # the snapshot has aged
    lead = await post_ok(client, h["rep"], "leads", {**LEAD, "rating": "Frozen"})
    assert lead["rating"] == "Frozen"
