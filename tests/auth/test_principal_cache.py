"""A token's checked principal is kept per process (app/auth/cache.py) and dropped when what it
rests on changes: at once for this process's own commits, within milliseconds for anyone's
(triggers NOTIFY the listener), and never reused while no listener runs."""

import asyncio
import time
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from app import access
from app.auth import cache as auth_cache
from app.auth import principal as principal_module
from app.kit import db
from app.main import create_app
from app.models import Account
from tests.conftest import _client
from tests.factories import bearer, make_client, make_user, token

ROLE_REP = "0190f000-0000-7000-8000-000000000003"


async def _until(predicate, seconds: float = 3.0) -> float:
    """Wait until ``predicate()`` (a coroutine function) is true; the time it took."""
    started = time.monotonic()
    while True:
        if await predicate():
            return time.monotonic() - started
        if time.monotonic() - started > seconds:
            raise AssertionError(f"not true within {seconds}s")
        await asyncio.sleep(0.005)


@pytest.fixture
async def served(settings, engine, monkeypatch):
    """An app as `accord serve` runs it (its lifespan, so the listener, running), on committed
    sessions; counts the token checks that reach the database."""
    factory = db.session_factory_for(db.make_sessionmaker(engine))
    app = create_app(settings, engine=engine, session_factory=factory)
    app.state.read_session_factory = db.read_factory(engine)
    loads = []
    original = principal_module._load

    async def counting(session, claims):
        loads.append(claims["jti"])
        return await original(session, claims)

    monkeypatch.setattr(principal_module, "_load", counting)
    async with app.router.lifespan_context(app):

        async def listening():
            return auth_cache.principals.active

        await _until(listening)
        async with _client(app) as http:
            yield app, http, loads
    assert not auth_cache.principals.active
    assert len(auth_cache.principals) == 0


async def _user_token(app, http, scopes="users:read leads:read"):
    async with app.state.session_factory() as s:
        user = await make_user(s, role_id=ROLE_REP)
        api_client, secret = await make_client(s, scopes, user=user)
        await s.commit()
    return user, api_client, secret, bearer(await token(http, api_client, secret))


async def test_a_token_is_checked_against_the_database_once(served):
    app, http, loads = served
    _, _, _, h = await _user_token(app, http)
    for _ in range(5):
        assert (await http.get("/api/v1/me", headers=h)).status_code == 200
        assert (await http.get("/api/v1/leads?limit=1", headers=h)).status_code == 200
    assert len(loads) == 1
    # Another token is its own entry.
    _, _, _, other = await _user_token(app, http)
    assert (await http.get("/api/v1/me", headers=other)).status_code == 200
    assert len(loads) == 2


async def test_revoking_through_the_api_refuses_the_very_next_request(served):
    app, http, _ = served
    _, api_client, secret, h = await _user_token(app, http)
    assert (await http.get("/api/v1/me", headers=h)).status_code == 200
    tok = h["Authorization"].split()[1]
    r = await http.post("/oauth/revoke", data={"token": tok}, auth=(api_client.client_id, secret))
    assert r.status_code == 200
    r = await http.get("/api/v1/me", headers=h)
    assert r.status_code == 401 and r.json()["code"] == "invalid_token"


async def test_deactivating_a_user_through_the_api_refuses_their_next_request(served):
    app, http, _ = served
    async with app.state.session_factory() as s:
        boss = await make_user(s, is_admin=True)
        boss_client, boss_secret = await make_client(s, "users:read users:write admin", user=boss)
        await s.commit()
    admin_h = bearer(await token(http, boss_client, boss_secret))
    user, _, _, h = await _user_token(app, http)
    assert (await http.get("/api/v1/me", headers=h)).status_code == 200
    r = await http.post(f"/api/v1/users/{user.id}/deactivate", headers=admin_h)
    assert r.status_code == 200, r.text
    assert (await http.get("/api/v1/me", headers=h)).status_code == 401


async def test_changes_made_outside_this_process_apply_within_milliseconds(served, engine):
    app, http, _ = served
    user, api_client, _, h = await _user_token(app, http)
    assert (await http.get("/api/v1/leads?limit=1", headers=h)).status_code == 200

    async def status(path="/api/v1/leads?limit=1"):
        return (await http.get(path, headers=h)).status_code

    # Another process (here: a plain connection) trims the client's scopes.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE api_clients SET allowed_scopes = '{users:read}' WHERE id = :id"),
            {"id": api_client.id},
        )

    async def forbidden():
        return await status() == 403

    trimmed = await _until(forbidden)
    assert await status("/api/v1/me") == 200
    # ... and deactivates the user.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET is_active = false WHERE id = :id"), {"id": user.id}
        )

    async def refused():
        return await status("/api/v1/me") == 401

    deactivated = await _until(refused)
    assert trimmed < 1 and deactivated < 1
    print(f"applied after {trimmed * 1000:.1f} ms and {deactivated * 1000:.1f} ms")


async def test_changes_to_other_columns_keep_the_cache(served, engine):
    app, http, loads = served
    user, _, _, h = await _user_token(app, http)
    assert (await http.get("/api/v1/me", headers=h)).status_code == 200
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET name = 'Renamed' WHERE id = :id"), {"id": user.id}
        )
    await asyncio.sleep(0.2)
    assert (await http.get("/api/v1/me", headers=h)).status_code == 200
    assert len(loads) == 1


async def test_without_a_listener_every_request_checks_the_database(served, engine):
    app, http, loads = served
    _, _, _, h = await _user_token(app, http)
    assert (await http.get("/api/v1/me", headers=h)).status_code == 200
    assert len(loads) == 1
    # The listener's connection is cut: nothing is reused until it is back.
    async with engine.connect() as conn:
        cut = await conn.scalar(
            text("SELECT pg_terminate_backend(:pid)"), {"pid": auth_cache.principals.listener_pid}
        )
    assert cut is True

    async def deaf():
        return not auth_cache.principals.active

    await _until(deaf)
    assert (await http.get("/api/v1/me", headers=h)).status_code == 200
    assert (await http.get("/api/v1/me", headers=h)).status_code == 200
    assert len(loads) == 3

    async def listening():
        return auth_cache.principals.active

    await _until(listening, 5)
    assert (await http.get("/api/v1/me", headers=h)).status_code == 200
    assert (await http.get("/api/v1/me", headers=h)).status_code == 200
    assert len(loads) == 4


async def test_a_database_without_the_triggers_gets_no_cache(empty_engine):
    """Nothing would tell the process of changes there, so nothing is kept."""
    stopping = asyncio.Event()
    task = asyncio.create_task(auth_cache.listen(empty_engine, 30, stopping))
    try:
        for _ in range(40):
            await asyncio.sleep(0.01)
            assert not auth_cache.principals.active
        assert not task.done()  # still there, to look again later
    finally:
        stopping.set()
        await asyncio.wait_for(task, 5)


# --- who is below whom: loaded with the principal (Principal.below), dropped when it changes ---

MANAGER_SCOPES = (
    "leads:read leads:write leads:convert accounts:read accounts:write partners:read partners:write"
)


async def _manager_and_rep(app, http):
    """A role of the test's own with one below it, a manager in the first and a rep in the
    second, each with a token; the rep's lead."""
    top, below = uuid.uuid4(), uuid.uuid4()
    async with app.state.session_factory() as s:
        await s.execute(
            text("INSERT INTO roles (id, name, parent_id) VALUES (:t, :tn, NULL), (:b, :bn, :t)"),
            {"t": top, "tn": f"Top {top.hex[:8]}", "b": below, "bn": f"Below {below.hex[:8]}"},
        )
        manager = await make_user(s, role_id=top)
        rep = await make_user(s, role_id=below)
        manager_client, manager_secret = await make_client(s, MANAGER_SCOPES, user=manager)
        rep_client, rep_secret = await make_client(s, MANAGER_SCOPES, user=rep)
        await s.commit()
    mh = bearer(await token(http, manager_client, manager_secret))
    rh = bearer(await token(http, rep_client, rep_secret))
    r = await http.post("/api/v1/leads", json={"last_name": "Below", "company": "B"}, headers=rh)
    assert r.status_code == 201, r.text
    return SimpleNamespace(top=top, below=below, manager=manager, rep=rep, mh=mh, rh=rh), r.json()


async def _status(http, url, headers) -> int:
    return (await http.get(url, headers=headers)).status_code


async def _answers(http, url, headers, status: int) -> float:
    """Wait until ``url`` answers ``status``; how long it took."""

    async def reached():
        return await _status(http, url, headers) == status

    return await _until(reached)


async def _outside(engine, sql: str, **params) -> None:
    """A change committed by another process (here: a plain connection)."""
    async with engine.begin() as conn:
        await conn.execute(text(sql), params)


async def test_a_managers_principal_carries_who_is_below(served):
    app, http, _ = served
    team, lead = await _manager_and_rep(app, http)
    url = f"/api/v1/leads/{lead['id']}"
    assert await _status(http, url, team.mh) == 200
    assert await _status(http, url, team.rh) == 200
    cached = {p.user_id: p for _, p in auth_cache.principals._entries.values()}
    assert cached[team.manager.id].below == (team.rep.id,)
    assert cached[team.rep.id].below == ()  # nobody below: no such term in its statements
    # Listed, and changed, through the same clause.
    listed = await http.get("/api/v1/leads", params={"owner_id": str(team.rep.id)}, headers=team.mh)
    assert [x["id"] for x in listed.json()["data"]] == [lead["id"]]
    r = await http.patch(url, json={"rating": "Hot"}, headers={**team.mh, "If-Match": '"1"'})
    assert r.status_code == 200, r.text


async def test_who_is_below_follows_changes_made_anywhere(served, engine):
    app, http, _ = served
    team, lead = await _manager_and_rep(app, http)
    url = f"/api/v1/leads/{lead['id']}"
    assert await _status(http, url, team.mh) == 200
    # The rep moves to a role outside the manager's branch ...
    sql = "UPDATE users SET role_id = :r WHERE id = :id"
    await _outside(engine, sql, r=ROLE_REP, id=team.rep.id)
    assert await _answers(http, url, team.mh, 404) < 1
    await _outside(engine, sql, r=team.below, id=team.rep.id)
    assert await _answers(http, url, team.mh, 200) < 1
    # ... their role is moved out from under the manager's ...
    await _outside(engine, "UPDATE roles SET parent_id = NULL WHERE id = :id", id=team.below)
    assert await _answers(http, url, team.mh, 404) < 1
    sql = "UPDATE roles SET parent_id = :t WHERE id = :id"
    await _outside(engine, sql, t=team.top, id=team.below)
    assert await _answers(http, url, team.mh, 200) < 1
    # ... and a user added below the manager by someone else is below them at once.
    newcomer = uuid.uuid4()
    await _outside(
        engine,
        "INSERT INTO users (id, email, name, kind, is_admin, is_active, role_id, time_zone,"
        " locale, failed_logins) VALUES (:id, :email, 'Newcomer', 'internal', false, true, :r,"
        " 'UTC', 'en_US', 0)",
        id=newcomer,
        email=f"new-{newcomer.hex[:8]}@example.com",
        r=team.below,
    )
    r = await http.patch(
        url, json={"owner_id": str(newcomer)}, headers={**team.rh, "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    assert await _answers(http, url, team.mh, 200) < 1


async def test_partner_users_roll_up_to_whoever_owns_or_manages_their_account_now(served, engine):
    app, http, _ = served
    team, _ = await _manager_and_rep(app, http)
    h = team.mh
    account = (await http.post("/api/v1/accounts", json={"name": "Partner Co"}, headers=h)).json()
    r = await http.post(
        f"/api/v1/partners/{account['id']}/enable",
        json={"partner_program": "Resellers", "partner_tier": "gold"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    async with app.state.session_factory() as s:
        partner_user = await make_user(
            s, kind="partner", partner_account_id=account["id"], partner_role="partner_rep"
        )
        await s.commit()
    r = await http.post(
        "/api/v1/leads",
        json={"last_name": "Partnered", "company": "P", "owner_id": str(partner_user.id)},
        headers=h,
    )
    assert r.status_code == 201, r.text
    url = f"/api/v1/leads/{r.json()['id']}"
    assert await _status(http, url, h) == 200
    # The account (and its channel management) passes to the rep, who is not above the manager:
    # the partner's records go with it.
    sql = "UPDATE accounts SET owner_id = :u, channel_manager_id = :u WHERE id = :id"
    await _outside(engine, sql, u=team.rep.id, id=account["id"])
    assert await _answers(http, url, h, 404) < 1
    assert await _status(http, url, team.rh) == 200
    sql = "UPDATE accounts SET channel_manager_id = :u WHERE id = :id"
    await _outside(engine, sql, u=team.manager.id, id=account["id"])
    assert await _answers(http, url, h, 200) < 1


async def test_a_new_account_keeps_cached_principals(served, engine):
    """Accounts are created all the time (every lead conversion); a new one has no partner
    users, so nobody's principal changes."""
    app, http, loads = served
    team, lead = await _manager_and_rep(app, http)
    assert (await http.get("/api/v1/me", headers=team.mh)).status_code == 200
    before = len(loads)
    r = await http.post("/api/v1/accounts", json={"name": "Plain Co"}, headers=team.mh)
    assert r.status_code == 201, r.text
    # An upsert creates its account as an ORM object; a conversion creates one with the rest.
    r = await http.put(
        f"/api/v1/accounts/by-external-id/ext-{uuid.uuid4().hex[:8]}",
        json={"name": "Synced Co"},
        headers=team.mh,
    )
    assert r.status_code == 201, r.text
    r = await http.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=team.mh)
    assert r.status_code == 200, r.text
    assert r.json()["account_id"] is not None
    await asyncio.sleep(0.2)
    assert (await http.get("/api/v1/me", headers=team.mh)).status_code == 200
    assert len(loads) == before


async def test_too_many_below_are_looked_up_in_sql_instead(served, monkeypatch):
    app, http, _ = served
    monkeypatch.setattr(access, "MAX_BELOW", 0)
    team, lead = await _manager_and_rep(app, http)
    url = f"/api/v1/leads/{lead['id']}"
    assert await _status(http, url, team.mh) == 200
    cached = {p.user_id: p for _, p in auth_cache.principals._entries.values()}
    assert cached[team.manager.id].below is None
    assert cached[team.rep.id].below == ()
    # The subqueries still keep the manager's peers out.
    async with app.state.session_factory() as s:
        peer = await make_user(s, role_id=team.top)
        peer_client, peer_secret = await make_client(s, MANAGER_SCOPES, user=peer)
        await s.commit()
    ph = bearer(await token(http, peer_client, peer_secret))
    assert await _status(http, url, ph) == 200  # same role as the manager: above the rep too
    r = await http.patch(
        url, json={"owner_id": str(team.manager.id)}, headers={**team.rh, "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    assert await _status(http, url, ph) == 404  # the manager's own: a peer's role is not above


async def test_this_processs_own_account_changes_are_told_apart_by_column(served):
    """A commit of this process that changes an account's owner or channel manager drops the
    cached principals at its commit; one that only renames it does not."""
    app, http, _ = served
    team, _ = await _manager_and_rep(app, http)
    account = (await http.post("/api/v1/accounts", json={"name": "Own Co"}, headers=team.mh)).json()
    async with app.state.session_factory() as s:
        row = await s.get(Account, uuid.UUID(account["id"]))
        row.name = "Own Co, renamed"
        await s.flush()
        assert auth_cache._FLAG not in s.info
        row.channel_manager_id = team.rep.id
        await s.flush()
        assert s.info[auth_cache._FLAG] is True
        await s.rollback()
