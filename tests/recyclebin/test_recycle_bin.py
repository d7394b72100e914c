"""The recycle bin: children deleted and restored with their parent, the bin listing, purging a
record now, and the retention purge (with the clock moved past it)."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from app import jobs
from app.kit import clock, db
from app.kit.resource import REGISTRY
from app.models import (
    Account,
    CampaignMember,
    Change,
    Contact,
    Event,
    FieldHistory,
    Lead,
    Note,
    Opportunity,
    OpportunityLineItem,
    Task,
)
from app.recyclebin.service import purge_expired
from tests.factories import make_user, post_ok, user_token

SALES_MANAGER = uuid.UUID("0190f000-0000-7000-8000-000000000002")
SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
SCOPES = " ".join(sorted({f"{r.scope}:{a}" for r in REGISTRY.values() for a in ("read", "write")}))
EVENT = {"subject": "Demo", "start_at": "2027-01-10T10:00:00Z", "end_at": "2027-01-10T11:00:00Z"}


@pytest.fixture
async def people(client, session):
    manager = await make_user(session, role_id=SALES_MANAGER, name="Manager")
    rep = await make_user(session, role_id=SALES_REP, name="Rep", manager_id=manager.id)
    peer = await make_user(session, role_id=SALES_REP, name="Peer")
    admin = await make_user(session, is_admin=True, name="Admin")
    h = {
        "manager": await user_token(client, session, manager, SCOPES),
        "rep": await user_token(client, session, rep, SCOPES),
        "peer": await user_token(client, session, peer, SCOPES),
        "admin": await user_token(client, session, admin, SCOPES + " admin"),
        "rep_read_only": await user_token(client, session, rep, "accounts:read"),
    }
    return {"manager": manager, "rep": rep, "peer": peer, "admin": admin, "h": h}


async def _account_with_everything(client, h):
    """An account with a contact, an opportunity with a line item, and activities on each."""
    acc = await post_ok(client, h, "accounts", {"name": "Acme"})
    contact = await post_ok(
        client, h, "contacts", {"last_name": "Lovelace", "account_id": acc["id"]}
    )
    opp = await post_ok(
        client,
        h,
        "opportunities",
        {"name": "Big deal", "close_date": "2027-03-31", "account_id": acc["id"]},
    )
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
        {"opportunity_id": opp["id"], "price_book_entry_id": entry["id"], "quantity": "2"},
    )
    task = await post_ok(
        client, h, "tasks", {"subject": "Call", "what_type": "account", "what_id": acc["id"]}
    )
    contact_task = await post_ok(
        client, h, "tasks", {"subject": "Email", "who_type": "contact", "who_id": contact["id"]}
    )
    event = await post_ok(
        client, h, "events", {**EVENT, "what_type": "opportunity", "what_id": opp["id"]}
    )
    note = await post_ok(
        client, h, "notes", {"title": "Met", "parent_type": "opportunity", "parent_id": opp["id"]}
    )
    return {
        "accounts": acc,
        "contacts": contact,
        "opportunities": opp,
        "opportunity-line-items": item,
        "tasks": task,
        "contact_task": contact_task,
        "events": event,
        "notes": note,
        "product": product,
        "entry": entry,
    }


CHILDREN = {
    "contacts": Contact,
    "opportunities": Opportunity,
    "opportunity-line-items": OpportunityLineItem,
    "tasks": Task,
    "contact_task": Task,
    "events": Event,
    "notes": Note,
}


def _url(name: str, rec: dict) -> str:
    return f"/api/v1/{'tasks' if name == 'contact_task' else name}/{rec['id']}"


async def _bin_state(session, model, record_id):
    row = (
        await session.execute(
            select(model.deleted_at, model.deleted_by, model.deleted_with, model.version).where(
                model.id == uuid.UUID(record_id)
            )
        )
    ).one()
    return row


async def _ops(session, record_id) -> list[str]:
    stmt = select(Change.op).where(Change.record_id == uuid.UUID(record_id)).order_by(Change.seq)
    return list((await session.scalars(stmt)).all())


async def _history_fields(client, h, url) -> list[str]:
    r = await client.get(f"{url}/history", headers=h)
    assert r.status_code == 200, r.text
    return [e["field"] for e in r.json()["data"]]


async def test_deleting_an_account_takes_its_related_records_and_restoring_brings_them_back(
    client, session, people
):
    h = people["h"]["rep"]
    recs = await _account_with_everything(client, h)
    acc_url = _url("accounts", recs["accounts"])

    assert (await client.delete(acc_url, headers=h)).status_code == 204

    acc = await _bin_state(session, Account, recs["accounts"]["id"])
    assert acc.deleted_at is not None and acc.deleted_with is None
    for name, model in CHILDREN.items():
        assert (await client.get(_url(name, recs[name]), headers=h)).status_code == 404, name
        row = await _bin_state(session, model, recs[name]["id"])
        assert row.deleted_at == acc.deleted_at, name
        assert row.deleted_with == uuid.UUID(recs["accounts"]["id"]), name
        assert row.deleted_by == people["rep"].id
        assert row.version == recs[name]["version"] + 1
        assert await _ops(session, recs[name]["id"]) == ["create", "delete"], name
        assert (await _history_fields(client, h, _url(name, recs[name])))[-1] == "deleted"
    # The catalogue is not the account's: it stays.
    product_url = f"/api/v1/products/{recs['product']['id']}"
    assert (await client.get(product_url, headers=h)).status_code == 200

    r = await client.post(f"{acc_url}/restore", headers=h)
    assert r.status_code == 200 and r.json()["version"] == 3
    for name, model in CHILDREN.items():
        r = await client.get(_url(name, recs[name]), headers=h)
        assert r.status_code == 200, name
        assert r.json()["version"] == recs[name]["version"] + 2
        row = await _bin_state(session, model, recs[name]["id"])
        assert (row.deleted_at, row.deleted_by, row.deleted_with) == (None, None, None)
        assert await _ops(session, recs[name]["id"]) == ["create", "delete", "restore"]
        fields = await _history_fields(client, h, _url(name, recs[name]))
        assert fields[-2:] == ["deleted", "restored"]


async def test_a_child_deleted_on_its_own_stays_deleted_when_the_parent_is_restored(
    client, session, people
):
    h = people["h"]["rep"]
    acc = await post_ok(client, h, "accounts", {"name": "Acme"})
    alone = await post_ok(client, h, "contacts", {"last_name": "Alone", "account_id": acc["id"]})
    along = await post_ok(client, h, "contacts", {"last_name": "Along", "account_id": acc["id"]})
    assert (await client.delete(_url("contacts", alone), headers=h)).status_code == 204
    clock.advance(minutes=5)
    assert (await client.delete(_url("accounts", acc), headers=h)).status_code == 204
    before = await _bin_state(session, Contact, alone["id"])
    assert before.deleted_with is None

    assert (await client.post(f"{_url('accounts', acc)}/restore", headers=h)).status_code == 200

    assert (await client.get(_url("contacts", along), headers=h)).status_code == 200
    assert (await client.get(_url("contacts", alone), headers=h)).status_code == 404
    assert await _bin_state(session, Contact, alone["id"]) == before
    assert await _ops(session, alone["id"]) == ["create", "delete"]
    # Now that its account is back, it can be restored on its own.
    assert (await client.post(f"{_url('contacts', alone)}/restore", headers=h)).status_code == 200


async def test_a_child_cannot_be_restored_while_its_parent_is_in_the_recycle_bin(
    client, session, people
):
    h = people["h"]["rep"]
    acc = await post_ok(client, h, "accounts", {"name": "Acme"})
    went_with = await post_ok(client, h, "contacts", {"last_name": "W", "account_id": acc["id"]})
    on_its_own = await post_ok(client, h, "contacts", {"last_name": "O", "account_id": acc["id"]})
    await client.delete(_url("contacts", on_its_own), headers=h)
    await client.delete(_url("accounts", acc), headers=h)

    for contact, words in ((went_with, "deleted with its account"), (on_its_own, "first")):
        r = await client.post(f"{_url('contacts', contact)}/restore", headers=h)
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["code"] == "invalid_state_transition" and words in body["detail"]
        assert body["parent_object"] == "accounts" and body["parent_id"] == acc["id"]
        assert (await _bin_state(session, Contact, contact["id"])).deleted_at is not None


async def test_cascade_takes_records_the_deleting_user_cannot_see(client, session, people):
    h = people["h"]
    acc = await post_ok(client, h["rep"], "accounts", {"name": "Acme"})
    peers = await post_ok(
        client,
        h["admin"],
        "contacts",
        {"last_name": "Theirs", "account_id": acc["id"], "owner_id": str(people["peer"].id)},
    )
    assert (await client.get(_url("contacts", peers), headers=h["rep"])).status_code == 404

    assert (await client.delete(_url("accounts", acc), headers=h["rep"])).status_code == 204
    row = await _bin_state(session, Contact, peers["id"])
    assert row.deleted_by == people["rep"].id and row.deleted_with == uuid.UUID(acc["id"])
    assert (await client.get(_url("contacts", peers), headers=h["peer"])).status_code == 404

    assert (
        await client.post(f"{_url('accounts', acc)}/restore", headers=h["rep"])
    ).status_code == 200
    assert (await client.get(_url("contacts", peers), headers=h["peer"])).status_code == 200


async def test_deleting_a_campaign_or_a_lead_takes_its_members(client, session, people):
    h = people["h"]["rep"]
    campaign = await post_ok(client, h, "campaigns", {"name": "Spring"})
    lead = await post_ok(client, h, "leads", {"last_name": "Hopper", "company": "Navy"})
    other = await post_ok(client, h, "leads", {"last_name": "Other", "company": "Navy"})
    member = await post_ok(
        client, h, "campaign-members", {"campaign_id": campaign["id"], "lead_id": lead["id"]}
    )
    kept = await post_ok(
        client, h, "campaign-members", {"campaign_id": campaign["id"], "lead_id": other["id"]}
    )
    await client.delete(_url("leads", lead), headers=h)
    row = await _bin_state(session, CampaignMember, member["id"])
    assert row.deleted_with == uuid.UUID(lead["id"])
    assert (await client.get(_url("campaign-members", kept), headers=h)).status_code == 200

    await client.delete(_url("campaigns", campaign), headers=h)
    row = await _bin_state(session, CampaignMember, kept["id"])
    assert row.deleted_with == uuid.UUID(campaign["id"])
    await client.post(f"{_url('campaigns', campaign)}/restore", headers=h)
    assert (await client.get(_url("campaign-members", kept), headers=h)).status_code == 200
    # The lead's member went with the lead, not the campaign.
    assert (await client.get(_url("campaign-members", member), headers=h)).status_code == 404


def test_every_cascade_names_a_registered_resource_and_its_columns():
    for resource in REGISTRY.values():
        for cascade in resource.children:
            child = REGISTRY[cascade.resource].model
            assert hasattr(child, cascade.column), (resource.name, cascade)
            assert cascade.type_column is None or hasattr(child, cascade.type_column)


# --- the bin --------------------------------------------------------------------------


async def test_recycle_bin_lists_deleted_records_the_caller_may_see(client, people):
    h = people["h"]
    acc = await post_ok(client, h["rep"], "accounts", {"name": "Acme"})
    await post_ok(client, h["rep"], "contacts", {"last_name": "Child", "account_id": acc["id"]})
    lead = await post_ok(
        client, h["rep"], "leads", {"first_name": "Grace", "last_name": "Hopper", "company": "N"}
    )
    peers = await post_ok(client, h["peer"], "accounts", {"name": "Peer's"})
    live = await post_ok(client, h["rep"], "accounts", {"name": "Live"})
    await client.delete(_url("accounts", acc), headers=h["rep"])
    clock.advance(seconds=1)
    await client.delete(_url("leads", lead), headers=h["rep"])
    await client.delete(_url("accounts", peers), headers=h["peer"])

    r = await client.get("/api/v1/recycle-bin", headers=h["rep"])
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    # Newest first; the contact went with its account and is not listed on its own.
    assert [(e["object"], e["id"], e["name"]) for e in data] == [
        ("leads", lead["id"], "Grace Hopper"),
        ("accounts", acc["id"], "Acme"),
    ]
    assert data[0]["deleted_by"] == str(people["rep"].id)
    assert live["id"] not in [e["id"] for e in data]

    page = (await client.get("/api/v1/recycle-bin", params={"limit": 1}, headers=h["rep"])).json()
    assert [e["id"] for e in page["data"]] == [lead["id"]]
    r = await client.get(
        "/api/v1/recycle-bin", params={"limit": 1, "cursor": page["next_cursor"]}, headers=h["rep"]
    )
    assert [e["id"] for e in r.json()["data"]] == [acc["id"]] and r.json()["next_cursor"] is None

    only = await client.get("/api/v1/recycle-bin", params={"object": "leads"}, headers=h["rep"])
    assert [e["id"] for e in only.json()["data"]] == [lead["id"]]
    # The manager sees the rep's deletions (role hierarchy) but did not make them.
    managers = await client.get("/api/v1/recycle-bin", headers=h["manager"])
    assert {e["id"] for e in managers.json()["data"]} >= {acc["id"], lead["id"]}
    mine = await client.get("/api/v1/recycle-bin", params={"mine": "true"}, headers=h["manager"])
    assert {acc["id"], lead["id"]}.isdisjoint(e["id"] for e in mine.json()["data"])
    # The peer sees only their own; a token without leads:read sees no leads.
    peer_ids = [
        e["id"] for e in (await client.get("/api/v1/recycle-bin", headers=h["peer"])).json()["data"]
    ]
    assert peers["id"] in peer_ids and acc["id"] not in peer_ids and lead["id"] not in peer_ids
    r = await client.get("/api/v1/recycle-bin", headers=h["rep_read_only"])
    assert [e["id"] for e in r.json()["data"]] == [acc["id"]]


async def test_recycle_bin_needs_a_token_and_a_valid_cursor(client, people):
    assert (await client.get("/api/v1/recycle-bin")).status_code == 401
    r = await client.get(
        "/api/v1/recycle-bin", params={"cursor": "bad"}, headers=people["h"]["rep"]
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"


# --- purging ----------------------------------------------------------------------------


async def _count(session, model, record_id) -> int:
    return await session.scalar(select(func.count()).where(model.id == uuid.UUID(record_id)))


async def _history_count(session, record_id) -> int:
    stmt = select(func.count()).where(FieldHistory.record_id == uuid.UUID(record_id))
    return await session.scalar(stmt)


async def test_owner_purges_a_deleted_account_with_what_went_with_it(client, session, people):
    h = people["h"]
    recs = await _account_with_everything(client, h["rep"])
    acc = recs["accounts"]
    url = f"/api/v1/recycle-bin/accounts/{acc['id']}"
    # Not in the bin yet.
    assert (await client.delete(url, headers=h["rep"])).status_code == 404
    await client.delete(_url("accounts", acc), headers=h["rep"])

    assert (await client.delete(url)).status_code == 401
    r = await client.delete(url, headers=h["peer"])
    assert r.status_code == 404
    r = await client.delete(url, headers=h["rep_read_only"])
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    r = await client.delete(f"/api/v1/recycle-bin/widgets/{acc['id']}", headers=h["rep"])
    assert r.status_code == 404
    # A record deleted with the account goes with it, not on its own.
    r = await client.delete(
        f"/api/v1/recycle-bin/contacts/{recs['contacts']['id']}", headers=h["rep"]
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    assert await _count(session, Account, acc["id"]) == 1

    r = await client.delete(url, headers=h["rep"])
    assert r.status_code == 200, r.text
    assert r.json() == {
        "purged": {
            "accounts": 1,
            "contacts": 1,
            "opportunities": 1,
            "opportunity_line_items": 1,
            "tasks": 2,
            "events": 1,
            "notes": 1,
        },
        "total": 8,
    }
    for name, model in {"accounts": Account, **CHILDREN}.items():
        assert await _count(session, model, recs[name]["id"]) == 0, name
        assert await _history_count(session, recs[name]["id"]) == 0, name
        assert (await _ops(session, recs[name]["id"]))[-1] == "purge"
    # The owner's change feed shows the purge; the peer's does not.
    feed = (await client.get("/api/v1/changes", params={"limit": 200}, headers=h["rep"])).json()
    assert {"op": "purge", "record_id": acc["id"]}.items() <= next(
        c for c in feed["data"] if c["record_id"] == acc["id"] and c["op"] == "purge"
    ).items()
    feed = (await client.get("/api/v1/changes", params={"limit": 200}, headers=h["peer"])).json()
    assert acc["id"] not in [c["record_id"] for c in feed["data"]]
    # The catalogue it used is untouched.
    assert (
        await client.get(f"/api/v1/products/{recs['product']['id']}", headers=h["rep"])
    ).status_code == 200


async def _fresh(client, session, people, who: str, scopes: str = SCOPES) -> dict[str, str]:
    """A new token (after moving the clock, the old ones have expired)."""
    return await user_token(client, session, people[who], scopes)


async def test_retention_purge_removes_only_what_has_expired(client, session, people):
    h = people["h"]
    recs = await _account_with_everything(client, h["rep"])
    acc = recs["accounts"]
    recent = await post_ok(client, h["rep"], "leads", {"last_name": "Recent", "company": "N"})
    await client.delete(_url("accounts", acc), headers=h["rep"])

    r = await client.post("/api/v1/recycle-bin/purge", headers=h["rep"])
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    assert (await client.post("/api/v1/recycle-bin/purge")).status_code == 401

    clock.advance(days=14)
    h = {
        "admin": await _fresh(client, session, people, "admin", SCOPES + " admin"),
        "rep": await _fresh(client, session, people, "rep"),
    }
    r = await client.post("/api/v1/recycle-bin/purge", headers=h["admin"])
    assert r.status_code == 200 and r.json() == {"purged": {}, "total": 0}
    assert await _count(session, Account, acc["id"]) == 1
    await client.delete(_url("leads", recent), headers=h["rep"])

    clock.advance(days=2)  # 16 days after the account was deleted, 2 after the lead
    h = {
        "admin": await _fresh(client, session, people, "admin", SCOPES + " admin"),
        "rep": await _fresh(client, session, people, "rep"),
    }
    r = await client.post("/api/v1/recycle-bin/purge", headers=h["admin"])
    assert r.status_code == 200, r.text
    assert r.json()["purged"] == {
        "accounts": 1,
        "contacts": 1,
        "opportunities": 1,
        "opportunity_line_items": 1,
        "tasks": 2,
        "events": 1,
        "notes": 1,
    }
    for name, model in {"accounts": Account, **CHILDREN}.items():
        assert await _count(session, model, recs[name]["id"]) == 0, name
        assert await _history_count(session, recs[name]["id"]) == 0, name
    purge = (
        await session.execute(
            select(Change.op, Change.changed_by, Change.owner_id).where(
                Change.record_id == uuid.UUID(acc["id"]), Change.op == "purge"
            )
        )
    ).one()
    assert purge == ("purge", people["admin"].id, people["rep"].id)
    feed = (await client.get("/api/v1/changes", params={"limit": 200}, headers=h["rep"])).json()
    # Earlier entries of a record that no longer exists cannot be checked against it any more;
    # its purge is checked against the owner it had.
    assert [c["op"] for c in feed["data"] if c["record_id"] == acc["id"]] == ["purge"]
    # The lead deleted two days ago is still restorable.
    assert (
        await client.post(f"{_url('leads', recent)}/restore", headers=h["rep"])
    ).status_code == 200


async def test_purge_leaves_records_that_others_still_need(client, session, people):
    h = people["h"]["rep"]
    recs = await _account_with_everything(client, h)
    product = recs["product"]
    # The product (and its price book entry, deleted with it) is on a live line item.
    assert (await client.delete(f"/api/v1/products/{product['id']}", headers=h)).status_code == 204
    clock.advance(days=16)
    h = await _fresh(client, session, people, "rep")
    counts = await purge_expired(session)
    assert "products" not in counts and "price_book_entries" not in counts
    assert (
        await session.scalar(
            text("SELECT count(*) FROM products WHERE id = :id"), {"id": product["id"]}
        )
        == 1
    )
    r = await client.delete(f"/api/v1/recycle-bin/products/{product['id']}", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "still_referenced"
    # Once the line item is gone, the product goes at the next purge.
    item_url = _url("opportunity-line-items", recs["opportunity-line-items"])
    await client.delete(item_url, headers=h)
    await client.delete(
        f"/api/v1/recycle-bin/opportunity_line_items/{recs['opportunity-line-items']['id']}",
        headers=h,
    )
    counts = await purge_expired(session)
    assert counts == {"price_book_entries": 1, "products": 1}
    assert await _count(session, Contact, recs["contacts"]["id"]) == 1


async def test_purge_works_in_batches(client, session, people):
    h = people["h"]["rep"]
    leads = [
        await post_ok(client, h, "leads", {"last_name": f"L{i}", "company": "N"}) for i in range(5)
    ]
    for lead in leads:
        await client.delete(_url("leads", lead), headers=h)
    counts = await purge_expired(session, clock.now() + timedelta(days=16), batch_size=2)
    assert counts == {"leads": 5}
    ops = [(await _ops(session, lead["id"]))[-1] for lead in leads]
    assert ops == ["purge"] * 5


async def test_the_periodic_purge_job_purges_what_expired(client, session, people, settings):
    h = people["h"]["rep"]
    lead = await post_ok(client, h, "leads", {"last_name": "Old", "company": "N"})
    await client.delete(_url("leads", lead), headers=h)
    factory = db.savepoint_factory(session.bind)
    await jobs.drain(factory, settings=settings)  # the schedule exists; its first run is later
    assert await _count(session, Lead, lead["id"]) == 1
    clock.advance(days=16)
    await jobs.drain(factory, settings=settings)
    assert await _count(session, Lead, lead["id"]) == 0
    assert (await _ops(session, lead["id"]))[-1] == "purge"
