"""Custom fields: administrators define typed fields per object; records take them in create,
patch, upsert and batch (validated, merged per key), return them, filter on them and record
their changes in field history."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.kit import clock
from app.models import Account, CustomField, Lead
from tests.factories import bearer, make_user, service_token, user_token

SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
SCOPES = "leads:read leads:write accounts:read accounts:write"
LEAD = {"last_name": "Hopper", "company": "Navy"}

LEAD_FIELDS = [
    {"name": "region", "label": "Region", "type": "picklist", "picklist_values": ["EMEA", "AMER"]},
    {"name": "arr", "label": "ARR", "type": "currency"},
    {"name": "seats", "label": "Seats", "type": "number", "precision": 6},
    {"name": "ratio", "label": "Ratio", "type": "number", "precision": 5, "scale": 3},
    {"name": "renewal", "label": "Renewal", "type": "date"},
    {"name": "vip", "label": "VIP", "type": "boolean"},
    {"name": "nickname", "label": "Nickname", "type": "text", "max_length": 10},
]


@pytest.fixture
async def admin(client, session):
    tok, _ = await service_token(client, session, "admin")
    return bearer(tok)


@pytest.fixture
async def rep(client, session):
    user = await make_user(session, role_id=SALES_REP)
    return await user_token(client, session, user, SCOPES)


async def define(client, admin, obj="leads", status=201, **body):
    r = await client.post("/api/v1/custom-fields", json={"object": obj, **body}, headers=admin)
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
async def lead_fields(client, admin):
    return {f["name"]: await define(client, admin, **f) for f in LEAD_FIELDS}


async def new_lead(client, h, custom=None, status=201, **body):
    payload = {**LEAD, **body}
    if custom is not None:
        payload["custom_fields"] = custom
    r = await client.post("/api/v1/leads", json=payload, headers=h)
    assert r.status_code == status, r.text
    return r.json()


EMPTY = {f["name"]: None for f in LEAD_FIELDS}


# --- definitions ------------------------------------------------------------------------------


async def test_admin_defines_fields_of_every_type(client, admin, rep, lead_fields):
    assert lead_fields["arr"]["precision"] == 18 and lead_fields["arr"]["scale"] == 2
    assert lead_fields["seats"]["scale"] == 0 and lead_fields["nickname"]["max_length"] == 10
    assert lead_fields["region"]["picklist_values"] == ["EMEA", "AMER"]
    assert lead_fields["vip"]["is_active"] and not lead_fields["vip"]["required"]
    await define(client, admin, obj="accounts", name="tier", label="Tier", type="text")

    # Any client reading leads sees the schema; it does not see objects it cannot read.
    r = await client.get("/api/v1/custom-fields", params={"object": "leads"}, headers=rep)
    assert r.status_code == 200
    assert [f["name"] for f in r.json()["data"]] == [f["name"] for f in LEAD_FIELDS]
    r = await client.get("/api/v1/custom-fields", params={"object": "accounts"}, headers=rep)
    assert [f["name"] for f in r.json()["data"]] == ["tier"]
    got = await client.get(f"/api/v1/custom-fields/{lead_fields['arr']['id']}", headers=rep)
    assert got.status_code == 200 and got.json()["type"] == "currency"


async def test_definitions_are_hidden_from_clients_without_the_object_scope(
    client, session, admin, lead_fields
):
    user = await make_user(session, role_id=SALES_REP)
    h = await user_token(client, session, user, "accounts:read")
    assert (await client.get("/api/v1/custom-fields", headers=h)).json()["data"] == []
    r = await client.get(f"/api/v1/custom-fields/{lead_fields['arr']['id']}", headers=h)
    assert r.status_code == 404
    assert (await client.get("/api/v1/custom-fields")).status_code == 401


async def test_non_admin_cannot_define_change_or_delete_fields(client, rep, lead_fields):
    body = {"object": "leads", "name": "x", "label": "X", "type": "text"}
    r = await client.post("/api/v1/custom-fields", json=body, headers=rep)
    assert r.status_code == 403 and r.json()["scope"] == "admin"
    url = f"/api/v1/custom-fields/{lead_fields['arr']['id']}"
    assert (await client.patch(url, json={"label": "Y"}, headers=rep)).status_code == 403
    assert (await client.delete(url, headers=rep)).status_code == 403
    assert (await client.post(f"{url}/restore", headers=rep)).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad-Name", "type": "text"}, "name"),
        ({"name": "1st", "type": "text"}, "name"),
        ({"name": "x" * 41, "type": "text"}, "name"),
        ({"name": "x", "type": "colour"}, "type"),
        ({"name": "x", "type": "picklist"}, "picklist_values"),
        ({"name": "x", "type": "picklist", "picklist_values": ["A", "A"]}, "picklist_values"),
        ({"name": "x", "type": "number", "max_length": 5}, "max_length"),
        ({"name": "x", "type": "text", "picklist_values": ["A"]}, "picklist_values"),
        ({"name": "x", "type": "currency", "scale": 4}, "scale"),
        ({"name": "x", "type": "number", "precision": 4, "scale": 5}, "scale"),
        ({"name": "x", "type": "date", "precision": 4}, "precision"),
        ({"name": "x", "type": "text", "object": "unicorns"}, "object"),
    ],
)
async def test_bad_definitions_are_422_naming_the_field(client, admin, body, field):
    payload = {"object": "leads", "label": "X", **body}
    r = await client.post("/api/v1/custom-fields", json=payload, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


async def test_names_are_unique_per_object(client, admin, session):
    await define(client, admin, name="tier", label="Tier", type="text")
    r = await client.post(
        "/api/v1/custom-fields",
        json={"object": "leads", "name": "tier", "label": "Tier 2", "type": "number"},
        headers=admin,
    )
    assert r.status_code == 409 and r.json()["code"] == "duplicate_detected"
    # The same name on another object is another field.
    await define(client, admin, obj="accounts", name="tier", label="Tier", type="text")
    count = await session.scalar(select(func.count()).where(CustomField.name == "tier"))
    assert count == 2


async def test_patch_changes_label_values_and_rules_but_never_the_type(
    client, admin, rep, lead_fields
):
    url = f"/api/v1/custom-fields/{lead_fields['region']['id']}"
    r = await client.patch(
        url,
        json={"label": "Sales region", "picklist_values": ["EMEA", "AMER", "APAC"]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["label"] == "Sales region" and "APAC" in r.json()["picklist_values"]
    await new_lead(client, rep, {"region": "APAC"})
    for body, field in (
        ({"type": "text"}, "type"),
        ({"name": "zone"}, "name"),
        ({"label": None}, "label"),
        ({"max_length": 20}, "max_length"),
    ):
        r = await client.patch(url, json=body, headers=admin)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    text = f"/api/v1/custom-fields/{lead_fields['nickname']['id']}"
    r = await client.patch(text, json={"max_length": 5}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "too_short"
    r = await client.patch(text, json={"max_length": 40}, headers=admin)
    assert r.status_code == 200 and r.json()["max_length"] == 40
    await new_lead(client, rep, {"nickname": "x" * 40})


async def test_an_inactive_field_keeps_its_values_but_takes_no_writes(
    client, admin, rep, lead_fields
):
    lead = await new_lead(client, rep, {"arr": "10"})
    url = f"/api/v1/custom-fields/{lead_fields['arr']['id']}"
    assert (await client.patch(url, json={"is_active": False}, headers=admin)).status_code == 200
    got = (await client.get(f"/api/v1/leads/{lead['id']}", headers=rep)).json()
    assert got["custom_fields"]["arr"] == "10.00"
    r = await client.patch(
        f"/api/v1/leads/{lead['id']}", json={"custom_fields": {"arr": "11"}}, headers=rep
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "inactive_field"


# --- values on records ------------------------------------------------------------------------


async def test_records_take_and_return_custom_fields(client, admin, rep, lead_fields):
    lead = await new_lead(
        client,
        rep,
        {
            "region": "EMEA",
            "arr": 1200.5,
            "seats": "250",
            "ratio": "0.125",
            "renewal": "2027-03-31",
            "vip": True,
            "nickname": "Amazing",
        },
    )
    want = {
        "region": "EMEA",
        "arr": "1200.50",
        "seats": "250",
        "ratio": "0.125",
        "renewal": "2027-03-31",
        "vip": True,
        "nickname": "Amazing",
    }
    assert lead["custom_fields"] == want
    url = f"/api/v1/leads/{lead['id']}"
    assert (await client.get(url, headers=rep)).json()["custom_fields"] == want
    listed = (await client.get("/api/v1/leads", params={"id": lead["id"]}, headers=rep)).json()
    assert listed["data"][0]["custom_fields"] == want

    # PATCH merges per key: sent keys are set, null clears, the rest stay.
    r = await client.patch(
        url,
        json={"custom_fields": {"vip": False, "nickname": None, "arr": "99999999.99"}},
        headers={**rep, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.json()["custom_fields"] == {
        **want,
        "vip": False,
        "nickname": None,
        "arr": "99999999.99",
    }
    # A PATCH without custom fields leaves them alone; one changing nothing is no new version.
    r = await client.patch(url, json={"rating": "Hot"}, headers=rep)
    assert r.json()["custom_fields"]["region"] == "EMEA" and r.json()["version"] == 3
    r = await client.patch(url, json={"custom_fields": {"region": "EMEA"}}, headers=rep)
    assert r.json()["version"] == 3

    # A record with nothing set shows every field as null; an empty text is no value.
    other = await new_lead(client, rep, {"nickname": ""})
    assert other["custom_fields"] == EMPTY


async def test_accounts_have_their_own_fields(client, admin, rep, lead_fields):
    await define(client, admin, obj="accounts", name="tier", label="Tier", type="text")
    r = await client.post(
        "/api/v1/accounts",
        json={"name": "Acme", "custom_fields": {"tier": "Gold"}},
        headers=rep,
    )
    assert r.status_code == 201 and r.json()["custom_fields"] == {"tier": "Gold"}
    r = await client.post(
        "/api/v1/accounts",
        json={"name": "Acme", "custom_fields": {"region": "EMEA"}},
        headers=rep,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0] == {
        "field": "custom_fields.region",
        "code": "unknown_field",
        "message": "accounts has no custom field 'region'",
    }
    # Objects without definitions return an empty object.
    r = await client.post("/api/v1/accounts", json={"name": "Plain"}, headers=rep)
    assert r.json()["custom_fields"] == {"tier": None}


BAD_VALUES = [
    ({"colour": "red"}, "custom_fields.colour", "unknown_field"),
    ({"region": "LATAM"}, "custom_fields.region", "invalid_choice"),
    ({"region": 1}, "custom_fields.region", "invalid_type"),
    ({"nickname": "x" * 11}, "custom_fields.nickname", "too_long"),
    ({"nickname": 5}, "custom_fields.nickname", "invalid_type"),
    ({"arr": "12.345"}, "custom_fields.arr", "too_many_decimals"),
    ({"arr": "lots"}, "custom_fields.arr", "invalid_type"),
    ({"arr": "NaN"}, "custom_fields.arr", "invalid_type"),
    ({"arr": True}, "custom_fields.arr", "invalid_type"),
    ({"seats": "1.5"}, "custom_fields.seats", "too_many_decimals"),
    ({"seats": 1000000}, "custom_fields.seats", "out_of_range"),
    ({"ratio": "100.5"}, "custom_fields.ratio", "out_of_range"),
    ({"renewal": "2027-02-30"}, "custom_fields.renewal", "invalid_type"),
    ({"renewal": "2027-02-01T10:00:00"}, "custom_fields.renewal", "invalid_type"),
    ({"vip": "yes"}, "custom_fields.vip", "invalid_type"),
    ({"vip": 1}, "custom_fields.vip", "invalid_type"),
    ({"region": ["EMEA"]}, "custom_fields.region", "invalid_type"),
]


@pytest.mark.parametrize(("custom", "field", "code"), BAD_VALUES)
async def test_bad_values_are_422_naming_the_field_and_change_nothing(
    client, session, rep, lead_fields, custom, field, code
):
    r = await client.post(
        "/api/v1/leads", json={**LEAD, "last_name": "Bad", "custom_fields": custom}, headers=rep
    )
    assert r.status_code == 422, r.text
    assert (r.json()["errors"][0]["field"], r.json()["errors"][0]["code"]) == (field, code)
    assert await session.scalar(select(func.count()).where(Lead.last_name == "Bad")) == 0

    lead = await new_lead(client, rep, {"region": "AMER"})
    url = f"/api/v1/leads/{lead['id']}"
    r = await client.patch(url, json={"rating": "Hot", "custom_fields": custom}, headers=rep)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field
    got = (await client.get(url, headers=rep)).json()
    assert got["version"] == 1 and got["rating"] is None
    assert got["custom_fields"] == {**EMPTY, "region": "AMER"}


async def test_every_bad_value_is_reported_at_once(client, rep, lead_fields):
    r = await client.post(
        "/api/v1/leads",
        json={**LEAD, "custom_fields": {"region": "LATAM", "vip": "yes", "arr": "1"}},
        headers=rep,
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"custom_fields.region", "custom_fields.vip"}


async def test_a_required_custom_field_is_enforced_on_create(client, admin, rep, lead_fields):
    await new_lead(client, rep)  # before it is required
    await define(client, admin, name="segment", label="Segment", type="text", required=True)
    r = await client.post("/api/v1/leads", json=LEAD, headers=rep)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "field": "custom_fields.segment",
            "code": "required",
            "message": "custom_fields.segment is required",
        }
    ]
    r = await client.post(
        "/api/v1/leads", json={**LEAD, "custom_fields": {"region": "EMEA"}}, headers=rep
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "custom_fields.segment"
    r = await client.post(
        "/api/v1/leads", json={**LEAD, "custom_fields": {"segment": ""}}, headers=rep
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "custom_fields.segment"
    lead = await new_lead(client, rep, {"segment": "SMB"})
    url = f"/api/v1/leads/{lead['id']}"
    # It may be left out of a patch, not cleared.
    assert (await client.patch(url, json={"rating": "Hot"}, headers=rep)).status_code == 200
    r = await client.patch(url, json={"custom_fields": {"segment": None}}, headers=rep)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "required"


async def test_history_shows_each_custom_field_change(client, rep, lead_fields):
    lead = await new_lead(client, rep, {"region": "EMEA", "arr": "10"})
    url = f"/api/v1/leads/{lead['id']}"
    r = await client.patch(
        url, json={"rating": "Warm", "custom_fields": {"region": "AMER", "arr": None}}, headers=rep
    )
    assert r.status_code == 200
    history = (await client.get(f"{url}/history", headers=rep)).json()["data"]
    changes = {e["field"]: (e["old_value"], e["new_value"]) for e in history[1:]}
    assert changes == {
        "rating": (None, "Warm"),
        "custom_fields.region": ("EMEA", "AMER"),
        "custom_fields.arr": ("10.00", None),
    }
    feed = (await client.get("/api/v1/changes", params={"limit": 200}, headers=rep)).json()
    ops = [c["op"] for c in feed["data"] if c["record_id"] == lead["id"]]
    assert ops == ["create", "update"]


# --- filters ----------------------------------------------------------------------------------


async def test_filters_on_custom_fields(client, rep, lead_fields):
    made = {}
    for key, custom in {
        "a": {"region": "EMEA", "arr": "100", "renewal": "2027-01-15", "vip": True},
        "b": {"region": "AMER", "arr": "2500.5", "renewal": "2027-06-01", "nickname": "Bobby"},
        "c": {"region": "EMEA", "seats": "12", "nickname": "bob"},
        "d": {},
    }.items():
        made[key] = (await new_lead(client, rep, custom, last_name=key))["id"]

    async def ids(**params):
        r = await client.get("/api/v1/leads", params=params, headers=rep)
        assert r.status_code == 200, r.text
        return sorted(k for k, v in made.items() if v in {x["id"] for x in r.json()["data"]})

    assert await ids(**{"custom_fields.region": "EMEA"}) == ["a", "c"]
    assert await ids(**{"custom_fields.region[eq]": "AMER"}) == ["b"]
    assert await ids(**{"custom_fields.region[ne]": "AMER"}) == ["a", "c"]
    assert await ids(**{"custom_fields.region[in]": "AMER,EMEA"}) == ["a", "b", "c"]
    assert await ids(**{"custom_fields.arr[gt]": "100"}) == ["b"]
    assert await ids(**{"custom_fields.arr[gte]": "100"}) == ["a", "b"]
    assert await ids(**{"custom_fields.arr[eq]": "2500.50"}) == ["b"]
    assert await ids(**{"custom_fields.arr[eq]": "2500.5"}) == ["b"]
    assert await ids(**{"custom_fields.arr[eq]": "2500.501"}) == []
    assert await ids(**{"custom_fields.arr[in]": "100,2500.5"}) == ["a", "b"]
    assert await ids(**{"custom_fields.seats[lt]": "20"}) == ["c"]
    assert await ids(**{"custom_fields.renewal[lt]": "2027-03-01"}) == ["a"]
    assert await ids(**{"custom_fields.renewal[gt]": "2027-03-01"}) == ["b"]
    assert await ids(**{"custom_fields.renewal": "2027-06-01"}) == ["b"]
    assert await ids(**{"custom_fields.vip": "true"}) == ["a"]
    assert await ids(**{"custom_fields.region[is_null]": "true"}) == ["d"]
    assert await ids(**{"custom_fields.arr[is_null]": "false"}) == ["a", "b"]
    assert await ids(**{"custom_fields.nickname[contains]": "BOB"}) == ["b", "c"]
    # Combined with each other and with standard fields.
    params = {"custom_fields.region": "EMEA", "custom_fields.seats[is_null]": "false"}
    assert await ids(**params) == ["c"]
    assert await ids(**{"custom_fields.region": "EMEA", "last_name": "a"}) == ["a"]


@pytest.mark.parametrize(
    "key,value",
    [
        ("custom_fields.colour", "red"),
        ("custom_fields.colour[eq]", "red"),
        ("custom_fields", "x"),
        ("custom_fields.arr[gt]", "lots"),
        ("custom_fields.renewal[lt]", "soon"),
        ("custom_fields.vip[gt]", "true"),
        ("custom_fields.arr[contains]", "1"),
        ("custom_fields.region[like]", "E"),
    ],
)
async def test_bad_custom_field_filters_are_400(client, rep, lead_fields, key, value):
    r = await client.get("/api/v1/leads", params={key: value}, headers=rep)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_filter" and r.json()["errors"][0]["field"] == key


# --- batch and upsert -------------------------------------------------------------------------


async def test_batch_operations_validate_custom_fields(client, session, rep, lead_fields):
    ops = [
        {"method": "POST", "path": "/api/v1/leads", "body": {**LEAD, "last_name": "B1"}},
        {
            "method": "POST",
            "path": "/api/v1/leads",
            "body": {**LEAD, "last_name": "B2", "custom_fields": {"region": "Mars"}},
        },
    ]
    r = await client.post("/api/v1/batch", json={"operations": ops}, headers=rep)
    body = r.json()
    assert body["committed"] is False and [x["status"] for x in body["results"]] == [201, 422]
    assert body["results"][1]["body"]["errors"][0]["field"] == "custom_fields.region"
    count = await session.scalar(select(func.count()).where(Lead.last_name.in_(["B1", "B2"])))
    assert count == 0

    ops[1]["body"]["custom_fields"] = {"region": "EMEA"}
    body = (await client.post("/api/v1/batch", json={"operations": ops}, headers=rep)).json()
    assert body["committed"] is True
    assert body["results"][1]["body"]["custom_fields"]["region"] == "EMEA"


async def test_upsert_validates_and_merges_custom_fields(client, session, rep, lead_fields):
    url = "/api/v1/leads/by-external-id/crm-42"
    r = await client.put(url, json={**LEAD, "custom_fields": {"vip": "no"}}, headers=rep)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "custom_fields.vip"
    assert await session.scalar(select(func.count()).where(Lead.external_id == "crm-42")) == 0
    r = await client.put(
        url, json={**LEAD, "custom_fields": {"vip": True, "region": "EMEA"}}, headers=rep
    )
    assert r.status_code == 201, r.text
    r = await client.put(url, json={**LEAD, "custom_fields": {"region": "AMER"}}, headers=rep)
    assert r.status_code == 200
    assert r.json()["custom_fields"]["region"] == "AMER" and r.json()["custom_fields"]["vip"]
    r = await client.put(url, json={**LEAD, "custom_fields": {"region": "Mars"}}, headers=rep)
    assert r.status_code == 422
    got = await session.scalar(select(Lead.custom_fields).where(Lead.external_id == "crm-42"))
    assert got == {"vip": True, "region": "AMER"}


# --- deleting fields --------------------------------------------------------------------------


async def test_a_deleted_field_hides_its_values_until_restored(
    client, session, admin, rep, lead_fields
):
    lead = await new_lead(client, rep, {"region": "EMEA", "vip": True})
    url = f"/api/v1/leads/{lead['id']}"
    field_url = f"/api/v1/custom-fields/{lead_fields['region']['id']}"
    assert (await client.delete(field_url, headers=admin)).status_code == 204

    got = (await client.get(url, headers=rep)).json()
    assert "region" not in got["custom_fields"] and got["custom_fields"]["vip"] is True
    r = await client.get("/api/v1/leads", params={"custom_fields.region": "EMEA"}, headers=rep)
    assert r.status_code == 400
    r = await client.patch(url, json={"custom_fields": {"region": "AMER"}}, headers=rep)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_field"
    # Other writes keep the hidden value for a restore.
    r = await client.patch(url, json={"custom_fields": {"vip": False}}, headers=rep)
    assert r.status_code == 200
    listed = (await client.get("/api/v1/custom-fields", headers=admin)).json()["data"]
    assert "region" not in [f["name"] for f in listed]
    deleted = (
        await client.get("/api/v1/custom-fields", params={"deleted": "true"}, headers=admin)
    ).json()["data"]
    assert [f["name"] for f in deleted] == ["region"]
    assert deleted[0]["erase_after"] is not None
    # The name stays taken while the field can come back.
    r = await client.post(
        "/api/v1/custom-fields",
        json={"object": "leads", "name": "region", "label": "R", "type": "text"},
        headers=admin,
    )
    assert r.status_code == 409

    r = await client.post(f"{field_url}/restore", headers=admin)
    assert r.status_code == 200 and r.json()["deleted_at"] is None
    got = (await client.get(url, headers=rep)).json()
    assert got["custom_fields"]["region"] == "EMEA" and got["custom_fields"]["vip"] is False


async def test_erasing_a_deleted_field_removes_its_values_and_frees_the_name(
    client, session, admin, rep, lead_fields
):
    lead = await new_lead(client, rep, {"region": "EMEA", "vip": True})
    field_url = f"/api/v1/custom-fields/{lead_fields['region']['id']}"
    r = await client.post(f"{field_url}/erase", headers=admin)
    assert r.status_code == 409  # delete it first
    assert (await client.delete(field_url, headers=admin)).status_code == 204
    assert (await client.post(f"{field_url}/erase", headers=admin)).status_code == 204
    assert (await client.get(field_url, headers=admin)).status_code == 404
    stored = await session.scalar(
        select(Lead.custom_fields).where(Lead.id == uuid.UUID(lead["id"]))
    )
    assert stored == {"vip": True}
    await define(client, admin, name="region", label="Region", type="text")


async def test_deleted_fields_are_erased_after_15_days(client, session, admin, rep, lead_fields):
    lead = await new_lead(client, rep, {"seats": "3"})
    field_url = f"/api/v1/custom-fields/{lead_fields['seats']['id']}"
    assert (await client.delete(field_url, headers=admin)).status_code == 204
    clock.advance(timedelta(days=15, minutes=1))
    admin = bearer((await service_token(client, session, "admin"))[0])  # tokens expired too
    assert (await client.get(field_url, headers=admin)).status_code == 404
    assert (await client.post(f"{field_url}/restore", headers=admin)).status_code == 404
    # The next change of definitions erases it, values and all.
    await define(client, admin, name="seats", label="Seats", type="text")
    stored = await session.scalar(
        select(Lead.custom_fields).where(Lead.id == uuid.UUID(lead["id"]))
    )
    assert stored == {}


async def test_accounts_unaffected_by_lead_fields(client, session, rep, lead_fields):
    r = await client.post("/api/v1/accounts", json={"name": "Acme"}, headers=rep)
    stored = await session.scalar(
        select(Account.custom_fields).where(Account.id == uuid.UUID(r.json()["id"]))
    )
    assert stored == {} and r.json()["custom_fields"] == {}
