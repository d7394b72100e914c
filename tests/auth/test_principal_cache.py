"""A token's checked principal is kept per process (app/auth/cache.py) and dropped when what it
rests on changes: at once for this process's own commits, within milliseconds for anyone's
(triggers NOTIFY the listener), and never reused while no listener runs."""

import asyncio
import time

import pytest
from sqlalchemy import text

from app.auth import cache as auth_cache
from app.auth import principal as principal_module
from app.kit import db
from app.main import create_app
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
