"""Partners: two competing partner accounts A and B, each with a manager and a rep, and the
vendor's channel manager. Partners see only what is shared with their account and never the
other partner's records, by any path."""

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.models import Lead, Opportunity, User
from tests.factories import bearer, make_client, make_user, user_token

CM_SCOPES = (
    "accounts:read accounts:write contacts:read contacts:write leads:read leads:write "
    "opportunities:read opportunities:write partners:read partners:write products:read"
)
PARTNER = (
    "accounts:read contacts:read contacts:write leads:read leads:write opportunities:read "
    "opportunities:write partners:read products:read leads:convert"
)
PASSWORD = "correct horse battery"


@dataclass
class Partner:
    id: str
    manager: User
    rep: User
    mh: dict
    rh: dict


@dataclass
class World:
    cm: User
    ch: dict
    a: Partner
    b: Partner


async def _post(client, h, path, body, status=201):
    r = await client.post(f"/api/v1/{path}", json=body, headers=h)
    assert r.status_code == status, r.text
    return r.json()


async def _partner(client, session, ch, name) -> Partner:
    account = await _post(client, ch, "accounts", {"name": name})
    await _post(
        client,
        ch,
        f"partners/{account['id']}/enable",
        {"partner_program": "Resellers", "partner_tier": "gold"},
        200,
    )
    users = []
    for role in ("partner_manager", "partner_rep"):
        body = {
            "email": f"{role}-{uuid.uuid4().hex[:6]}@{name.lower()}.example.com",
            "name": f"{name} {role.title()}",
            "password": PASSWORD,
            "partner_role": role,
        }
        users.append(await _post(client, ch, f"partners/{account['id']}/users", body))
    manager, rep = [await session.get(User, uuid.UUID(u["id"])) for u in users]
    mh = await user_token(client, session, manager, PARTNER)
    rh = await user_token(client, session, rep, PARTNER)
    return Partner(account["id"], manager, rep, mh, rh)


@pytest.fixture
async def world(client, session) -> World:
    cm = await make_user(session, name="Channel Manager")
    ch = await user_token(client, session, cm, CM_SCOPES)
    a = await _partner(client, session, ch, "Alpha")
    b = await _partner(client, session, ch, "Bravo")
    return World(cm, ch, a, b)


async def _ids(client, h, path, **params) -> set[str]:
    r = await client.get(f"/api/v1/{path}", params={"limit": 200, **params}, headers=h)
    assert r.status_code == 200, r.text
    return {x["id"] for x in r.json()["data"]}


def _lead(company: str, **kw) -> dict:
    return {"last_name": "Buyer", "company": company, **kw}


@pytest.fixture
async def records(client, world: World) -> dict[str, str]:
    w = world
    out = {
        "internal": (await _post(client, w.ch, "leads", _lead("Internal Co")))["id"],
        "a_rep": (await _post(client, w.a.rh, "leads", _lead("Rep Deal Co")))["id"],
        "a_mgr": (await _post(client, w.a.mh, "leads", _lead("Manager Co")))["id"],
        "a_assigned": (
            await _post(client, w.ch, "leads", _lead("Assigned Co", owner_id=str(w.a.rep.id)))
        )["id"],
        "b_rep": (
            await _post(client, w.b.rh, "leads", _lead("Secret Bravo Co", external_id="ext-b"))
        )["id"],
        "a_opp": (
            await _post(
                client,
                w.ch,
                "opportunities",
                {"name": "Via Alpha", "close_date": "2027-03-31", "partner_account_id": w.a.id},
            )
        )["id"],
        "b_opp": (
            await _post(
                client,
                w.ch,
                "opportunities",
                {"name": "Via Bravo", "close_date": "2027-03-31", "partner_account_id": w.b.id},
            )
        )["id"],
    }
    return out


async def test_partner_records_are_stamped_with_the_partner(client, session, world, records):
    for key, partner in (("a_rep", world.a.id), ("a_assigned", world.a.id), ("b_rep", world.b.id)):
        lead = await session.get(Lead, uuid.UUID(records[key]))
        assert str(lead.partner_account_id) == partner
    assert (await session.get(Lead, uuid.UUID(records["internal"]))).partner_account_id is None


async def test_partner_rep_sees_only_own_records(client, world, records):
    h = world.a.rh
    assert await _ids(client, h, "leads") == {records["a_rep"], records["a_assigned"]}
    assert await _ids(client, h, "opportunities") == set()
    for key in ("a_mgr", "internal", "b_rep"):
        r = await client.get(f"/api/v1/leads/{records[key]}", headers=h)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
    # Their own partner account is readable, not the other's.
    assert await _ids(client, h, "accounts") == {world.a.id}


async def test_partner_manager_sees_everything_shared_with_the_partner(client, world, records):
    h = world.a.mh
    assert await _ids(client, h, "leads") == {
        records["a_rep"],
        records["a_mgr"],
        records["a_assigned"],
    }
    assert await _ids(client, h, "opportunities") == {records["a_opp"]}
    assert await _ids(client, h, "accounts") == {world.a.id}
    contacts = await _ids(client, h, "contacts")
    assert len(contacts) == 2  # the contacts of the partner's two users
    r = await client.get(f"/api/v1/leads/{records['a_rep']}", headers=h)
    assert r.status_code == 200


async def test_partner_cannot_reach_other_partners_records_by_any_read_path(client, world, records):
    h, b_lead = world.a.mh, records["b_rep"]
    for path in (
        f"leads/{b_lead}",
        f"leads/{b_lead}/history",
        f"opportunities/{records['b_opp']}",
        f"opportunities/{records['b_opp']}/stage-history",
        f"accounts/{world.b.id}",
        f"partners/{world.b.id}",
        f"partners/{world.b.id}/users",
    ):
        r = await client.get(f"/api/v1/{path}", headers=h)
        assert r.status_code == 404, (path, r.text)
    assert b_lead not in await _ids(client, h, "leads", partner_account_id=world.b.id)
    assert await _ids(client, h, "leads", partner_account_id=world.b.id) == set()
    assert await _ids(client, h, "leads", owner_id=str(world.b.rep.id)) == set()
    assert await _ids(client, h, "leads", q="Secret Bravo") == set()
    assert await _ids(client, h, "leads", external_id="ext-b") == set()
    assert await _ids(client, h, "opportunities", partner_account_id=world.b.id) == set()
    assert await _ids(client, h, "partners") == {world.a.id}
    assert await _ids(client, h, "contacts", account_id=world.b.id) == set()


async def test_partner_cannot_change_other_partners_records(client, session, world, records):
    h, b_lead = world.a.mh, records["b_rep"]
    before = (await session.get(Lead, uuid.UUID(b_lead))).version
    r = await client.patch(f"/api/v1/leads/{b_lead}", json={"rating": "Hot"}, headers=h)
    assert r.status_code == 404
    r = await client.delete(f"/api/v1/leads/{b_lead}", headers=h)
    assert r.status_code == 404
    r = await client.post(f"/api/v1/leads/{b_lead}/restore", headers=h)
    assert r.status_code == 404
    r = await client.post(f"/api/v1/leads/{b_lead}/convert", json={}, headers=h)
    assert r.status_code == 404
    # Upsert by the other partner's external id: a conflict that tells nothing about it.
    r = await client.put("/api/v1/leads/by-external-id/ext-b", json=_lead("Mine"), headers=h)
    assert r.status_code == 409 and r.json()["code"] == "duplicate_detected"
    assert b_lead not in r.text and "Bravo" not in r.text
    # A reference to the other partner's account is not found.
    r = await client.post(
        "/api/v1/contacts", json={"last_name": "X", "account_id": world.b.id}, headers=h
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "account_id"
    session.expire_all()
    lead = await session.get(Lead, uuid.UUID(b_lead))
    assert lead.version == before and lead.rating is None and lead.deleted_at is None


async def test_partner_batch_goes_through_access(client, world, records):
    b_lead = records["b_rep"]
    ops = [
        {"method": "GET", "path": f"/api/v1/leads/{records['a_rep']}"},
        {"method": "GET", "path": f"/api/v1/leads/{b_lead}"},
        {"method": "PATCH", "path": f"/api/v1/leads/{b_lead}", "body": {"rating": "Hot"}},
        {"method": "DELETE", "path": f"/api/v1/leads/{b_lead}"},
    ]
    r = await client.post(
        "/api/v1/batch", json={"operations": ops, "all_or_none": False}, headers=world.a.mh
    )
    assert r.status_code == 200
    assert [x["status"] for x in r.json()["results"]] == [200, 404, 404, 404]
    assert "Secret Bravo" not in r.text


async def test_partner_change_feed_holds_only_shared_records(client, world, records):
    r = await client.get("/api/v1/changes", params={"limit": 200}, headers=world.a.mh)
    assert r.status_code == 200
    seen = {x["record_id"] for x in r.json()["data"]}
    shared = {
        records["a_rep"],
        records["a_mgr"],
        records["a_assigned"],
        records["a_opp"],
        world.a.id,
    }
    assert {records["a_rep"], records["a_opp"]} <= seen
    assert not seen & {records["b_rep"], records["b_opp"], records["internal"], world.b.id}
    # Everything else in it is the partner's own contacts.
    contacts = await _ids(client, world.a.mh, "contacts")
    assert seen <= shared | contacts
    r = await client.get("/api/v1/changes", params={"limit": 200}, headers=world.a.rh)
    rep_seen = {x["record_id"] for x in r.json()["data"]}
    assert records["a_mgr"] not in rep_seen and records["a_rep"] in rep_seen


async def test_partner_mass_assignment_of_owner_and_partner_is_refused(
    client, session, world, records
):
    a = world.a
    cases = [
        (a.rh, "post", "leads", _lead("X", owner_id=str(world.cm.id)), "owner_id"),
        (a.rh, "post", "leads", _lead("X", owner_id=str(a.manager.id)), "owner_id"),
        (a.mh, "post", "leads", _lead("X", owner_id=str(world.cm.id)), "owner_id"),
        (a.mh, "post", "leads", _lead("X", owner_id=str(world.b.rep.id)), "owner_id"),
        (a.mh, "post", "leads", _lead("X", partner_account_id=a.id), "partner_account_id"),
        (a.mh, "post", "leads", _lead("X", score=99), "score"),
        (a.rh, "patch", f"leads/{records['a_rep']}", {"owner_id": str(a.manager.id)}, "owner_id"),
        (a.mh, "patch", f"leads/{records['a_rep']}", {"owner_id": str(world.cm.id)}, "owner_id"),
        (a.mh, "patch", f"leads/{records['a_rep']}", {"partner_account_id": None}, None),
        (
            a.mh,
            "patch",
            f"opportunities/{records['a_opp']}",
            {"partner_account_id": world.b.id},
            "partner_account_id",
        ),
        (
            a.mh,
            "patch",
            f"opportunities/{records['a_opp']}",
            {"forecast_category": "commit"},
            "forecast_category",
        ),
    ]
    before = await session.scalar(select(Lead.id).order_by(Lead.id.desc()).limit(1))
    for h, method, path, body, field in cases:
        r = await getattr(client, method)(f"/api/v1/{path}", json=body, headers=h)
        assert r.status_code == 422, (path, body, r.text)
        assert r.json()["errors"][0]["field"] == (field or "partner_account_id"), r.text
    assert await session.scalar(select(Lead.id).order_by(Lead.id.desc()).limit(1)) == before
    rep_id = a.rep.id
    session.expire_all()
    lead = await session.get(Lead, uuid.UUID(records["a_rep"]))
    assert lead.owner_id == rep_id and str(lead.partner_account_id) == a.id
    opp = await session.get(Opportunity, uuid.UUID(records["a_opp"]))
    assert str(opp.partner_account_id) == a.id


async def test_partner_manager_may_hand_records_to_own_users(client, session, world, records):
    a = world.a
    r = await client.patch(
        f"/api/v1/leads/{records['a_mgr']}", json={"owner_id": str(a.rep.id)}, headers=a.mh
    )
    assert r.status_code == 200 and r.json()["owner_id"] == str(a.rep.id)
    assert records["a_mgr"] in await _ids(client, a.rh, "leads")
    # A rep changes what they own, and not what the partner shares with their manager.
    r = await client.patch(
        f"/api/v1/leads/{records['a_rep']}", json={"rating": "Hot"}, headers=a.rh
    )
    assert r.status_code == 200
    r = await client.patch(
        f"/api/v1/opportunities/{records['a_opp']}", json={"next_step": "x"}, headers=a.rh
    )
    assert r.status_code == 404
    r = await client.patch(
        f"/api/v1/opportunities/{records['a_opp']}", json={"next_step": "Demo"}, headers=a.mh
    )
    assert r.status_code == 200 and r.json()["next_step"] == "Demo"


async def test_internal_fields_are_hidden_from_partners(client, world, records):
    lead, opp = records["a_rep"], records["a_opp"]
    r = await client.patch(f"/api/v1/leads/{lead}", json={"score": 87}, headers=world.ch)
    assert r.status_code == 200 and r.json()["score"] == 87
    for h in (world.a.rh, world.a.mh):
        body = (await client.get(f"/api/v1/leads/{lead}", headers=h)).json()
        assert "score" not in body and body["id"] == lead
        page = (await client.get("/api/v1/leads", headers=h)).json()
        assert page["data"] and all("score" not in x for x in page["data"])
        history = (await client.get(f"/api/v1/leads/{lead}/history", headers=h)).json()
        assert history["data"] and all(e["field"] != "score" for e in history["data"])
        r = await client.get("/api/v1/leads", params={"score[gte]": 50}, headers=h)
        assert r.status_code == 400
        r = await client.patch(f"/api/v1/leads/{lead}", json={"rating": "Warm"}, headers=h)
        assert r.status_code == 200 and "score" not in r.json()
    body = (await client.get(f"/api/v1/opportunities/{opp}", headers=world.a.mh)).json()
    assert "forecast_category" not in body and "stage" in body
    stages = await client.get(f"/api/v1/opportunities/{opp}/stage-history", headers=world.a.mh)
    assert stages.status_code == 200
    assert all("forecast_category" not in x for x in stages.json()["data"])
    # The vendor still sees them.
    body = (await client.get(f"/api/v1/opportunities/{opp}", headers=world.ch)).json()
    assert "forecast_category" in body
    assert (await client.get(f"/api/v1/leads/{lead}", headers=world.ch)).json()["score"] == 87


async def test_internal_users_are_unaffected_and_see_their_partners_records(
    client, session, world, records
):
    # The channel manager owns both partner accounts: partner users' records roll up to them.
    leads = await _ids(client, world.ch, "leads")
    assert {records[k] for k in ("internal", "a_rep", "a_mgr", "a_assigned", "b_rep")} <= leads
    # Another internal user (no role, no partner accounts) sees none of them.
    other = await make_user(session)
    oh = await user_token(client, session, other, CM_SCOPES)
    assert await _ids(client, oh, "leads") == set()


async def test_partner_users_sign_in_with_a_password_and_get_partner_scopes(client, session, world):
    first_party, secret = await make_client(
        session, "leads:read leads:write admin users:read partners:read", grant_types=["password"]
    )
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": world.a.rep.email, "password": PASSWORD},
        auth=(first_party.client_id, secret),
    )
    assert r.status_code == 200, r.text
    assert set(r.json()["scope"].split()) == {"leads:read", "leads:write", "partners:read"}
    h = bearer(r.json()["access_token"])
    assert (await client.get("/api/v1/users", headers=h)).status_code == 403
    me = (await client.get("/api/v1/me", headers=h)).json()
    assert me["user"]["partner_account_id"] == world.a.id


async def test_partner_client_acts_with_partner_visibility_and_granted_scopes(
    client, session, world, records
):
    r = await client.post(
        f"/api/v1/partners/{world.a.id}/clients",
        json={"name": "Alpha CRM", "scopes": ["admin"]},
        headers=world.ch,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scopes"
    r = await client.post(
        f"/api/v1/partners/{world.a.id}/clients",
        json={"name": "Alpha CRM", "scopes": ["deals:register", "leads:read"]},
        headers=world.ch,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["partner_account_id"] == world.a.id and created["client_secret"]
    form = {"grant_type": "client_credentials"}
    r = await client.post(
        "/oauth/token", data=form, auth=(created["client_id"], created["client_secret"])
    )
    assert r.status_code == 200 and set(r.json()["scope"].split()) == {
        "deals:register",
        "leads:read",
    }
    h = bearer(r.json()["access_token"])
    assert await _ids(client, h, "leads") == {
        records["a_rep"],
        records["a_mgr"],
        records["a_assigned"],
    }
    assert (await client.get(f"/api/v1/leads/{records['b_rep']}", headers=h)).status_code == 404
    r = await client.post("/api/v1/leads", json=_lead("X"), headers=h)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    assert (await client.get("/api/v1/opportunities", headers=h)).status_code == 403
    r = await client.get("/api/v1/leads", params={"score[gte]": 1}, headers=h)
    assert r.status_code == 400


async def test_disabling_a_partner_ends_its_users_and_clients_access(
    client, session, world, records
):
    r = await client.post(
        f"/api/v1/partners/{world.a.id}/clients",
        json={"name": "Alpha CRM", "scopes": ["leads:read"]},
        headers=world.ch,
    )
    c = r.json()
    form = {"grant_type": "client_credentials"}
    r = await client.post("/oauth/token", data=form, auth=(c["client_id"], c["client_secret"]))
    ch = bearer(r.json()["access_token"])
    assert (await client.get("/api/v1/leads", headers=ch)).status_code == 200

    r = await client.post(f"/api/v1/partners/{world.a.id}/disable", headers=world.ch)
    assert r.status_code == 200 and r.json()["is_partner"] is False
    assert r.json()["partner_status"] == "inactive"
    for h in (world.a.mh, world.a.rh, ch):
        r = await client.get("/api/v1/leads", headers=h)
        assert r.status_code == 401, r.text
    r = await client.post("/oauth/token", data=form, auth=(c["client_id"], c["client_secret"]))
    assert r.status_code == 401
    # The other partner and the vendor carry on.
    assert (await client.get("/api/v1/leads", headers=world.b.mh)).status_code == 200
    assert records["a_rep"] in await _ids(client, world.ch, "leads")
    # Reactivating a user of a disabled partner is refused.
    r = await client.post(
        f"/api/v1/partners/{world.a.id}/users/{world.a.rep.id}/reactivate", headers=world.ch
    )
    assert r.status_code == 404


async def test_partner_endpoints_check_scopes_and_kind(client, session, world):
    assert (await client.get("/api/v1/partners")).status_code == 401
    # Partner users cannot manage partners (no partners:write in their ceiling).
    r = await client.post(f"/api/v1/partners/{world.a.id}/users", json={}, headers=world.a.mh)
    assert r.status_code == 403
    # Enabling twice is a state error; an unknown account is a 404.
    r = await client.post(f"/api/v1/partners/{world.a.id}/enable", json={}, headers=world.ch)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.post(f"/api/v1/partners/{uuid.uuid4()}/enable", json={}, headers=world.ch)
    assert r.status_code == 404
    r = await client.get("/api/v1/partners", params={"partner_tier": "gold"}, headers=world.ch)
    assert {world.a.id, world.b.id} <= {x["id"] for x in r.json()["data"]}
    r = await client.get("/api/v1/partners", params={"partner_tier": "bronze"}, headers=world.ch)
    assert not {world.a.id, world.b.id} & {x["id"] for x in r.json()["data"]}
    r = await client.get(f"/api/v1/partners/{world.a.id}/users", headers=world.ch)
    roles = sorted(u["partner_role"] for u in r.json()["data"])
    assert roles == ["partner_manager", "partner_rep"]
    # Partner users are linked to contacts of their account.
    contact_ids = {u["contact_id"] for u in r.json()["data"]}
    assert None not in contact_ids


async def test_partners_price_their_deals_from_the_price_books_of_their_tier(
    client, session, world, records
):
    """A price book lists the partner tiers that may use it: gold partner A reads it and its
    active entries and adds line items to its opportunity; silver partner B, inactive entries
    and internal-only books stay invisible; no partner changes a price book."""
    w = world
    r = await client.patch(
        f"/api/v1/partners/{w.b.id}", json={"partner_tier": "silver"}, headers=w.ch
    )
    assert r.status_code == 200, r.text
    pm = await make_user(session, name="Pricing")
    ph = await user_token(client, session, pm, "products:read products:write")
    gold = await _post(client, ph, "price-books", {"name": "Gold", "partner_tiers": ["gold"]})
    assert gold["partner_tiers"] == ["gold"]
    internal = await _post(client, ph, "price-books", {"name": "Internal"})
    assert internal["partner_tiers"] == []
    product = await _post(client, ph, "products", {"name": "Router"})
    entry = await _post(
        client,
        ph,
        "price-book-entries",
        {"price_book_id": gold["id"], "product_id": product["id"], "unit_price": "80.00"},
    )
    retired = await _post(client, ph, "products", {"name": "Old Router"})
    inactive = await _post(
        client,
        ph,
        "price-book-entries",
        {
            "price_book_id": gold["id"],
            "product_id": retired["id"],
            "unit_price": "5.00",
            "is_active": False,
        },
    )
    for h in (w.a.mh, w.a.rh):
        assert await _ids(client, h, "price-books") == {gold["id"]}
        assert await _ids(client, h, "price-book-entries") == {entry["id"]}
    assert await _ids(client, w.b.mh, "price-books") == set()
    assert await _ids(client, w.b.mh, "price-book-entries") == set()
    for path in (f"price-books/{gold['id']}", f"price-book-entries/{entry['id']}"):
        assert (await client.get(f"/api/v1/{path}", headers=w.b.mh)).status_code == 404
    r = await client.get(f"/api/v1/price-book-entries/{inactive['id']}", headers=w.a.mh)
    assert r.status_code == 404

    item = await _post(
        client,
        w.a.mh,
        "opportunity-line-items",
        {"opportunity_id": records["a_opp"], "price_book_entry_id": entry["id"], "quantity": "2"},
    )
    assert item["total_price"] == "160.00"
    r = await client.post(
        "/api/v1/opportunity-line-items",
        json={
            "opportunity_id": records["b_opp"],
            "price_book_entry_id": entry["id"],
            "quantity": "1",
        },
        headers=w.b.mh,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "price_book_entry_id"
    # Reading is all: no partner may change a price book, even with the scope asked for.
    r = await client.patch(
        f"/api/v1/price-books/{gold['id']}", json={"name": "Mine"}, headers=w.a.mh
    )
    assert r.status_code == 403
    assert (await client.get(f"/api/v1/price-books/{gold['id']}", headers=ph)).json()[
        "name"
    ] == "Gold"
    # Taking the tier off the book takes the book away.
    r = await client.patch(
        f"/api/v1/price-books/{gold['id']}", json={"partner_tiers": []}, headers=ph
    )
    assert r.status_code == 200 and r.json()["partner_tiers"] == []
    assert await _ids(client, w.a.mh, "price-books") == set()
    r = await client.patch(
        f"/api/v1/price-books/{gold['id']}", json={"partner_tiers": ["diamond"]}, headers=ph
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("partner_tiers")
