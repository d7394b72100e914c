"""Accounts through the resource machinery: CRUD, filters, sort and cursors, ETags, the
recycle bin, field history, the change feed, and record access on every path."""

import uuid

import pytest
from sqlalchemy import select

from app.models import Account, FieldHistory
from tests.factories import make_user, user_token

SALES_MANAGER = uuid.UUID("0190f000-0000-7000-8000-000000000002")
SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
MARKETING = uuid.UUID("0190f000-0000-7000-8000-000000000004")
SCOPES = "accounts:read accounts:write"


@pytest.fixture
async def people(client, session):
    manager = await make_user(session, role_id=SALES_MANAGER, name="Manager")
    rep = await make_user(session, role_id=SALES_REP, name="Rep", manager_id=manager.id)
    peer = await make_user(session, role_id=SALES_REP, name="Peer")
    marketer = await make_user(session, role_id=MARKETING, name="Marketer")
    admin = await make_user(session, is_admin=True, name="Admin")
    tokens = {}
    for key, user in (
        ("manager", manager),
        ("rep", rep),
        ("peer", peer),
        ("marketer", marketer),
        ("admin", admin),
    ):
        tokens[key] = await user_token(client, session, user, SCOPES)
    return {
        "manager": manager,
        "rep": rep,
        "peer": peer,
        "marketer": marketer,
        "admin": admin,
        "h": tokens,
    }


async def _create(client, headers, **body):
    r = await client.post("/api/v1/accounts", json={"name": "Acme", **body}, headers=headers)
    assert r.status_code == 201, r.text
    return r


async def test_create_get_patch_with_etags(client, people):
    h = people["h"]["rep"]
    r = await _create(client, h, industry="Energy", annual_revenue="1250000.50")
    acc = r.json()
    assert r.headers["etag"] == '"1"'
    assert r.headers["location"] == f"/api/v1/accounts/{acc['id']}"
    assert acc["owner_id"] == str(people["rep"].id) and acc["version"] == 1
    assert acc["annual_revenue"] == "1250000.50"

    r = await client.get(f"/api/v1/accounts/{acc['id']}", headers=h)
    assert r.status_code == 200 and r.headers["etag"] == '"1"'

    r = await client.patch(
        f"/api/v1/accounts/{acc['id']}",
        json={"name": "Acme Corp"},
        headers={**h, "If-Match": '"1"'},
    )
    assert r.status_code == 200 and r.json()["version"] == 2 and r.headers["etag"] == '"2"'

    stale = await client.patch(
        f"/api/v1/accounts/{acc['id']}",
        json={"name": "Lost update"},
        headers={**h, "If-Match": '"1"'},
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_conflict"
    got = (await client.get(f"/api/v1/accounts/{acc['id']}", headers=h)).json()
    assert got["name"] == "Acme Corp" and got["version"] == 2


async def test_read_only_fields_are_refused_naming_the_field(client, people, session):
    h = people["h"]["rep"]
    for field, value in (
        ("version", 7),
        ("id", str(uuid.uuid4())),
        ("created_by", None),
        ("deleted_at", None),
    ):
        r = await client.post("/api/v1/accounts", json={"name": "X", field: value}, headers=h)
        assert r.status_code == 422, field
        assert r.json()["errors"][0]["field"] == field
    assert await session.scalar(select(Account).where(Account.name == "X")) is None


async def test_null_for_a_required_field_is_422(client, people):
    h = people["h"]["rep"]
    acc = (await _create(client, h)).json()
    r = await client.patch(f"/api/v1/accounts/{acc['id']}", json={"name": None}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name"


async def test_delete_restore_and_history(client, people):
    h = people["h"]["rep"]
    acc = (await _create(client, h, industry="Energy")).json()
    await client.patch(f"/api/v1/accounts/{acc['id']}", json={"industry": "Utilities"}, headers=h)
    r = await client.delete(f"/api/v1/accounts/{acc['id']}", headers={**h, "If-Match": '"1"'})
    assert r.status_code == 412
    assert (await client.delete(f"/api/v1/accounts/{acc['id']}", headers=h)).status_code == 204
    assert (await client.get(f"/api/v1/accounts/{acc['id']}", headers=h)).status_code == 404
    listed = (await client.get("/api/v1/accounts", headers=h)).json()["data"]
    assert acc["id"] not in [a["id"] for a in listed]

    r = await client.post(f"/api/v1/accounts/{acc['id']}/restore", headers=h)
    assert r.status_code == 200 and r.json()["industry"] == "Utilities"
    r = await client.post(f"/api/v1/accounts/{acc['id']}/restore", headers=h)
    assert r.status_code == 404  # not in the recycle bin any more

    hist = (await client.get(f"/api/v1/accounts/{acc['id']}/history", headers=h)).json()["data"]
    assert [e["field"] for e in hist] == ["created", "industry", "deleted", "restored"]
    assert hist[1]["old_value"] == "Energy" and hist[1]["new_value"] == "Utilities"
    assert hist[1]["changed_by"] == str(people["rep"].id)


async def test_filters_operators_and_errors(client, people):
    h = people["h"]["admin"]
    tag = uuid.uuid4().hex[:6]
    for name, rev, country in (
        ("Alpha", "100", "FR"),
        ("Beta", "5000", "DE"),
        ("Gamma", None, None),
    ):
        await _create(client, h, name=f"{tag} {name}", annual_revenue=rev, billing_country=country)

    async def names(params):
        r = await client.get("/api/v1/accounts", params={"q": tag, **params}, headers=h)
        assert r.status_code == 200, r.text
        return sorted(a["name"].split()[1] for a in r.json()["data"])

    assert await names({"annual_revenue[gte]": "1000"}) == ["Beta"]
    assert await names({"billing_country[in]": "FR,DE"}) == ["Alpha", "Beta"]
    assert await names({"billing_country[is_null]": "true"}) == ["Gamma"]
    assert await names({"name[contains]": "alp"}) == ["Alpha"]
    assert await names({"billing_country[ne]": "FR"}) == ["Beta"]

    for params, code in (
        ({"colour": "red"}, "invalid_filter"),
        ({"name[like]": "x"}, "invalid_filter"),
        ({"annual_revenue[gt]": "lots"}, "invalid_filter"),
        ({"created_at[gt]": "yesterday"}, "invalid_filter"),
        ({"sort": "annual_revenue"}, "invalid_sort"),
        ({"cursor": "garbage"}, "invalid_cursor"),
    ):
        r = await client.get("/api/v1/accounts", params=params, headers=h)
        assert r.status_code == 400, params
        assert r.json()["code"] == code
    r = await client.get("/api/v1/accounts", params={"limit": 500}, headers=h)
    assert r.status_code == 422


async def test_sorted_cursor_pagination_visits_every_record_once(client, people):
    h = people["h"]["admin"]
    tag = uuid.uuid4().hex[:6]
    made = []
    for name in ("b", "a", "c", "a", "b", "a", None):
        made.append((await _create(client, h, name=f"{tag}-{name or 'z'}")).json()["id"])
    seen, cursor = [], None
    while True:
        params = {"q": tag, "sort": "-name", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get("/api/v1/accounts", params=params, headers=h)).json()
        seen += [(a["name"], a["id"]) for a in body["data"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(i for _, i in seen) == sorted(made)
    names = [n for n, _ in seen]
    assert names == sorted(names, reverse=True)


async def test_manager_sees_subordinates_records_peers_and_other_branches_do_not(client, people):
    acc = (await _create(client, people["h"]["rep"], name="Rep's deal")).json()
    url = f"/api/v1/accounts/{acc['id']}"
    assert (await client.get(url, headers=people["h"]["manager"])).status_code == 200
    r = await client.patch(url, json={"rating": "Hot"}, headers=people["h"]["manager"])
    assert r.status_code == 200
    assert (await client.get(url, headers=people["h"]["admin"])).status_code == 200


@pytest.mark.parametrize("who", ["peer", "marketer"])
async def test_user_outside_the_hierarchy_is_refused_on_every_path(client, people, session, who):
    owner_h, h = people["h"]["rep"], people["h"][who]
    acc = (await _create(client, owner_h, name=f"Secret {uuid.uuid4().hex[:6]}")).json()
    url = f"/api/v1/accounts/{acc['id']}"
    assert (await client.get(url, headers=h)).status_code == 404
    listed = (await client.get("/api/v1/accounts", params={"q": "Secret"}, headers=h)).json()
    assert acc["id"] not in [a["id"] for a in listed["data"]]
    filtered = await client.get("/api/v1/accounts", params={"id": acc["id"]}, headers=h)
    assert filtered.json()["data"] == []
    assert (await client.patch(url, json={"name": "Mine"}, headers=h)).status_code == 404
    assert (await client.delete(url, headers=h)).status_code == 404
    assert (await client.get(f"{url}/history", headers=h)).status_code == 404
    changes = (await client.get("/api/v1/changes", headers=h)).json()["data"]
    assert acc["id"] not in [c["record_id"] for c in changes]
    # and as a parent of the outsider's own account
    r = await client.post(
        "/api/v1/accounts", json={"name": "Child", "parent_id": acc["id"]}, headers=h
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "parent_id"
    # the owner deletes it: the outsider cannot restore it either
    assert (await client.delete(url, headers=owner_h)).status_code == 204
    assert (await client.post(f"{url}/restore", headers=h)).status_code == 404
    row = await session.get(Account, uuid.UUID(acc["id"]))
    await session.refresh(row)
    assert row.name.startswith("Secret") and row.deleted_at is not None


async def test_scopes_gate_account_operations(client, session, people):
    reader = await user_token(client, session, people["rep"], "accounts:read")
    r = await client.post("/api/v1/accounts", json={"name": "X"}, headers=reader)
    assert r.status_code == 403 and r.json()["scope"] == "accounts:write"
    assert (await client.get("/api/v1/accounts", headers=reader)).status_code == 200


async def test_change_feed_lists_every_kind_of_change_in_order(client, people):
    h = people["h"]["admin"]
    start = (await client.get("/api/v1/changes", params={"limit": 200}, headers=h)).json()
    cursor = start["next_cursor"]
    while True:  # catch up to the end of the feed
        page = (
            (
                await client.get(
                    "/api/v1/changes", params={"since": cursor, "limit": 200}, headers=h
                )
            ).json()
            if cursor
            else {"data": []}
        )
        if not page["data"]:
            break
        cursor = page["next_cursor"]
    acc = (await _create(client, h)).json()
    await client.patch(f"/api/v1/accounts/{acc['id']}", json={"rating": "Warm"}, headers=h)
    await client.delete(f"/api/v1/accounts/{acc['id']}", headers=h)
    await client.post(f"/api/v1/accounts/{acc['id']}/restore", headers=h)
    params = {"since": cursor} if cursor else {}
    body = (await client.get("/api/v1/changes", params=params, headers=h)).json()
    mine = [(c["op"], c["record_id"]) for c in body["data"] if c["record_id"] == acc["id"]]
    assert mine == [
        ("create", acc["id"]),
        ("update", acc["id"]),
        ("delete", acc["id"]),
        ("restore", acc["id"]),
    ]
    again = (
        await client.get("/api/v1/changes", params={"since": body["next_cursor"]}, headers=h)
    ).json()
    assert again["data"] == [] and again["next_cursor"] == body["next_cursor"]


async def test_history_rows_are_written_for_each_changed_field_only(client, people, session):
    h = people["h"]["rep"]
    acc = (await _create(client, h, industry="Energy")).json()
    await client.patch(
        f"/api/v1/accounts/{acc['id']}", json={"industry": "Energy", "rating": "Cold"}, headers=h
    )
    rows = (
        await session.scalars(
            select(FieldHistory.field).where(FieldHistory.record_id == uuid.UUID(acc["id"]))
        )
    ).all()
    assert sorted(rows) == ["created", "rating"]


async def test_boolean_filter_operators_on_leads(client, session, people):
    h = await user_token(client, session, people["admin"], "leads:read")
    r = await client.get("/api/v1/leads", params={"is_converted": "false"}, headers=h)
    assert r.status_code == 200
    r = await client.get("/api/v1/leads", params={"is_converted[ne]": "true"}, headers=h)
    assert r.status_code == 200
    r = await client.get("/api/v1/leads", params={"is_converted[gt]": "true"}, headers=h)
    assert r.status_code == 400 and r.json()["code"] == "invalid_filter"
    r = await client.get("/api/v1/leads", params={"is_converted": "maybe"}, headers=h)
    assert r.status_code == 400
