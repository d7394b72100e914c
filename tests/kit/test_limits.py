"""Limits that protect the service: a request blocked on a row another transaction holds answers
409 resource_locked within the lock timeout, and changes nothing."""

import time
import uuid

from sqlalchemy import text

from app.models import Account
from tests.factories import bearer, committed_user_token, make_client, make_user, token


async def test_blocked_row_answers_409_resource_locked_quickly(committed_app, engine):
    app, client = committed_app
    async with app.state.session_factory() as s:
        owner = await make_user(s, is_admin=True)
        api_client, secret = await make_client(s, "accounts:read accounts:write", user=owner)
        acc = Account(name="Locked", owner_id=owner.id)
        s.add(acc)
        await s.commit()
    h = bearer(await token(client, api_client, secret))
    async with engine.connect() as holder:
        await holder.execute(
            text("SELECT 1 FROM accounts WHERE id = :id FOR UPDATE"), {"id": acc.id}
        )
        started = time.monotonic()
        r = await client.patch(f"/api/v1/accounts/{acc.id}", json={"name": "Changed"}, headers=h)
        waited = time.monotonic() - started
        await holder.rollback()
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "resource_locked"
    assert int(r.headers["retry-after"]) >= 1
    assert waited < 5
    r = await client.get(f"/api/v1/accounts/{acc.id}", headers=h)
    assert r.json()["name"] == "Locked"
    # Once the lock is gone the same change goes through.
    r = await client.patch(f"/api/v1/accounts/{acc.id}", json={"name": "Changed"}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "Changed"
    assert uuid.UUID(r.json()["id"]) == acc.id


async def test_read_blocked_by_a_lock_answers_409_and_the_next_read_works(committed_app, engine):
    """Reads run their statements on the driver (app.kit.db.Prepared): its errors are answered as
    the same errors through SQLAlchemy are, and the connection goes on serving."""
    app, client = committed_app
    async with app.state.session_factory() as s:
        owner = await make_user(s, is_admin=True)
        api_client, secret = await make_client(s, "accounts:read accounts:write", user=owner)
        acc = Account(name="Behind a lock", owner_id=owner.id)
        s.add(acc)
        await s.commit()
    h = bearer(await token(client, api_client, secret))
    async with engine.connect() as holder:
        await holder.execute(text("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        r = await client.get(f"/api/v1/accounts/{acc.id}", headers=h)
        waited = time.monotonic() - started
        listed = await client.get("/api/v1/accounts", params={"name": "Behind a lock"}, headers=h)
        await holder.rollback()
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "resource_locked"
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) >= 1
    assert waited < 5
    assert listed.status_code == 409, listed.text
    for _ in range(3):
        r = await client.get(f"/api/v1/accounts/{acc.id}", headers=h)
        assert r.status_code == 200 and r.json()["name"] == "Behind a lock"


async def test_duplicate_external_id_on_create_is_409_conflict_and_keeps_one(committed_app):
    """The create route inserts on the driver when it can (app.kit.resource): a unique index
    that refuses the row is still a 409 naming the constraint, and nothing is written."""
    app, client = committed_app
    h = await committed_user_token(app, client, "leads:read leads:write")
    external = f"EXT-{uuid.uuid4().hex[:8]}"
    body = {"last_name": "Twice", "company": "Twice Co", "external_id": external}
    first = await client.post("/api/v1/leads", json=body, headers=h)
    assert first.status_code == 201, first.text
    again = await client.post("/api/v1/leads", json={**body, "last_name": "Again"}, headers=h)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "conflict"
    assert again.json()["constraint"] == "uq_leads_external_id"
    listed = await client.get("/api/v1/leads", params={"external_id": external}, headers=h)
    assert [x["last_name"] for x in listed.json()["data"]] == ["Twice"]


async def test_create_writes_the_record_and_its_log_in_one_committed_transaction(
    committed_app, engine
):
    """The create route writes the lead, its history row and its change-feed row in one
    statement (app.kit.resource._plain_insert), a transaction of its own when nothing was begun
    before it (app.kit.db.Prepared.fetchrow_alone), committed when the 201 is sent."""
    app, client = committed_app
    h = await committed_user_token(app, client, "leads:read leads:write")
    # The second create finds picklists and custom fields cached: its INSERT is the first
    # statement of its transaction.
    for _ in range(2):
        r = await client.post(
            "/api/v1/leads", json={"last_name": "Atomic", "company": "Atomic Co"}, headers=h
        )
        assert r.status_code == 201, r.text
    lead_id = uuid.UUID(r.json()["id"])
    async with engine.connect() as conn:
        lead_xid = (
            await conn.execute(
                text("SELECT xmin::text::bigint FROM leads WHERE id = :id"), {"id": lead_id}
            )
        ).scalar_one()
        change_xids = (
            await conn.execute(
                text("SELECT xid, op FROM changes WHERE record_id = :id"), {"id": lead_id}
            )
        ).all()
        history = (
            await conn.execute(
                text("SELECT field FROM field_history WHERE record_id = :id"), {"id": lead_id}
            )
        ).scalars()
        assert list(history) == ["created"]
    # xmin is the 32-bit transaction id; the feed keeps the full 64-bit one.
    assert [(xid % 2**32, op) for xid, op in change_xids] == [(lead_xid, "create")]


async def test_a_create_whose_log_fails_writes_nothing(committed_app, engine):
    """The lead and its log are one statement: when the history row is refused (here by a
    trigger for this one user), the lead is not left behind without it."""
    app, client = committed_app
    h = await committed_user_token(app, client, "leads:read leads:write")
    user_id = (await client.get("/api/v1/me", headers=h)).json()["user"]["id"]
    ok = await client.post("/api/v1/leads", json={"last_name": "Before", "company": "C"}, headers=h)
    assert ok.status_code == 201  # picklists and custom fields now cached: the insert is alone
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION test_refuse_history() RETURNS trigger LANGUAGE plpgsql AS"
                " $$BEGIN RAISE EXCEPTION 'history refused'; END$$"
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER test_refuse_history BEFORE INSERT ON field_history FOR EACH ROW"
                f" WHEN (NEW.changed_by = '{uuid.UUID(user_id)}') EXECUTE FUNCTION"
                " test_refuse_history()"
            )
        )
    try:
        r = await client.post(
            "/api/v1/leads", json={"last_name": "Orphan", "company": "Orphan Co"}, headers=h
        )
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER test_refuse_history ON field_history"))
            await conn.execute(text("DROP FUNCTION test_refuse_history()"))
    assert r.status_code == 500, r.text
    assert r.headers["content-type"] == "application/problem+json"
    async with engine.connect() as conn:
        leads = await conn.scalar(text("SELECT count(*) FROM leads WHERE last_name = 'Orphan'"))
        changes = await conn.scalar(
            text(
                "SELECT count(*) FROM changes WHERE changed_by = :u AND op = 'create'"
                " AND record_id NOT IN (SELECT id FROM leads)"
            ),
            {"u": uuid.UUID(user_id)},
        )
    assert leads == 0
    assert changes == 0
    # The connection the failed statement ran on still serves.
    again = await client.post(
        "/api/v1/leads", json={"last_name": "After", "company": "C"}, headers=h
    )
    assert again.status_code == 201
