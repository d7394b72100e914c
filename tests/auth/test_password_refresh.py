"""The password grant, login throttling, and refresh-token rotation with reuse detection."""

import asyncio
from datetime import timedelta

from sqlalchemy import select

from app.kit import clock
from app.models import Grant, User
from tests.factories import bearer, make_client, make_user

PASSWORD = "correct horse battery"


async def _first_party(session, scopes="users:read"):
    return await make_client(session, scopes, grant_types=["password", "refresh_token"])


async def _login(client, api_client, secret, email, password=PASSWORD, **extra):
    return await client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": email, "password": password, **extra},
        auth=(api_client.client_id, secret),
    )


async def test_password_grant_issues_access_and_refresh_tokens(client, session):
    user = await make_user(session, email="Rep@Example.com")
    api_client, secret = await _first_party(session)
    r = await _login(client, api_client, secret, "rep@example.com")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["refresh_token"].startswith("art_")
    assert r.headers["cache-control"] == "no-store"
    me = (await client.get("/api/v1/me", headers=bearer(body["access_token"]))).json()
    assert me["kind"] == "user" and me["user"]["email"] == "Rep@example.com"
    assert me["user"]["id"] == str(user.id)


async def test_wrong_password_is_invalid_grant_without_saying_which_part(client, session):
    user = await make_user(session)
    api_client, secret = await _first_party(session)
    wrong = await _login(client, api_client, secret, user.email, "not the password")
    unknown = await _login(client, api_client, secret, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json()["error"] == unknown.json()["error"] == "invalid_grant"
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_failed_logins_lock_the_account_then_unlock_after_the_wait(client, session):
    user = await make_user(session)
    api_client, secret = await _first_party(session)
    for _ in range(3):  # the test settings lock after 3 failures
        r = await _login(client, api_client, secret, user.email, "wrong password")
        assert r.status_code == 400
    # Locked: even the right password is refused, without checking it.
    r = await _login(client, api_client, secret, user.email)
    assert r.status_code == 429
    assert r.json()["code"] == "too_many_attempts"
    assert 1 <= int(r.headers["retry-after"]) <= 30
    failures = await session.scalar(select(User.failed_logins).where(User.id == user.id))
    assert failures == 3
    clock.advance(timedelta(seconds=31))
    r = await _login(client, api_client, secret, user.email)
    assert r.status_code == 200
    await session.refresh(user)
    assert user.failed_logins == 0 and user.locked_until is None


async def test_lockout_doubles_with_further_failures(client, session):
    user = await make_user(session)
    api_client, secret = await _first_party(session)
    for _ in range(3):
        await _login(client, api_client, secret, user.email, "wrong password")
    clock.advance(timedelta(seconds=31))
    await _login(client, api_client, secret, user.email, "wrong again")
    r = await _login(client, api_client, secret, user.email)
    assert r.status_code == 429
    assert 31 <= int(r.headers["retry-after"]) <= 61


async def test_deactivated_user_cannot_log_in(client, session):
    user = await make_user(session)
    user.is_active = False
    api_client, secret = await _first_party(session)
    r = await _login(client, api_client, secret, user.email)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_password_grant_can_be_disabled(client, session, app):
    user = await make_user(session)
    api_client, secret = await _first_party(session)
    app.state.settings = app.state.settings.model_copy(update={"password_grant_enabled": False})
    r = await _login(client, api_client, secret, user.email)
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    meta = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert "password" not in meta["grant_types_supported"]


async def test_refresh_rotates_the_refresh_token(client, session):
    user = await make_user(session)
    api_client, secret = await _first_party(session)
    first = (await _login(client, api_client, secret, user.email)).json()
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(api_client.client_id, secret),
    )
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (
        await client.get("/api/v1/me", headers=bearer(second["access_token"]))
    ).status_code == 200


async def test_refresh_token_used_twice_revokes_the_whole_family(client, session):
    user = await make_user(session)
    api_client, secret = await _first_party(session)
    first = (await _login(client, api_client, secret, user.email)).json()

    async def use(rt):
        return await client.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": rt},
            auth=(api_client.client_id, secret),
        )

    second = (await use(first["refresh_token"])).json()
    replay = await use(first["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # Everything of that sign-in is dead: the newest refresh token and every access token.
    assert (await use(second["refresh_token"])).status_code == 400
    for access in (first["access_token"], second["access_token"]):
        assert (await client.get("/api/v1/me", headers=bearer(access))).status_code == 401
    grant = await session.scalar(select(Grant).where(Grant.user_id == user.id))
    assert grant.revoked_reason == "refresh_token_reuse"
    # A new sign-in is unaffected.
    again = await _login(client, api_client, secret, user.email)
    assert again.status_code == 200


async def test_refresh_token_of_another_client_is_refused(client, session):
    user = await make_user(session)
    a, a_secret = await _first_party(session)
    b, b_secret = await _first_party(session)
    rt = (await _login(client, a, a_secret, user.email)).json()["refresh_token"]
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": rt},
        auth=(b.client_id, b_secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_refresh_may_narrow_but_not_widen_scope(client, session):
    user = await make_user(session, is_admin=True)
    api_client, secret = await _first_party(session, "users:read admin")
    rt = (await _login(client, api_client, secret, user.email, scope="users:read")).json()[
        "refresh_token"
    ]
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": rt, "scope": "admin"},
        auth=(api_client.client_id, secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"


async def test_expired_refresh_token_is_refused(client, session):
    user = await make_user(session)
    api_client, secret = await _first_party(session)
    rt = (await _login(client, api_client, secret, user.email)).json()["refresh_token"]
    clock.advance(timedelta(days=31))
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": rt},
        auth=(api_client.client_id, secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_concurrent_refreshes_with_one_token_leave_no_usable_session(committed_app):
    """Two requests racing with the same refresh token: at most one succeeds, and because a
    token was presented twice the family is revoked, so no branch survives."""
    app, client = committed_app
    factory = app.state.session_factory
    async with factory() as s:
        user = await make_user(s)
        api_client, secret = await _first_party(s)
        await s.commit()
    rt = (await _login(client, api_client, secret, user.email)).json()["refresh_token"]
    results = await asyncio.gather(
        *[
            client.post(
                "/oauth/token",
                data={"grant_type": "refresh_token", "refresh_token": rt},
                auth=(api_client.client_id, secret),
            )
            for _ in range(5)
        ]
    )
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) <= 1 and codes.count(400) >= 4, codes
    for r in results:
        if r.status_code == 200:
            access = r.json()["access_token"]
            assert (await client.get("/api/v1/me", headers=bearer(access))).status_code == 401
