"""Token revocation (RFC 7009) and introspection (RFC 7662)."""

from datetime import timedelta

import jwt

from app.kit import clock
from tests.factories import bearer, make_client, make_user

PASSWORD = "correct horse battery"
INACTIVE = {"active": False}


async def _first_party(session, scopes="users:read"):
    return await make_client(session, scopes, grant_types=["password", "refresh_token"])


async def _sign_in(client, session, api_client=None, secret=None, user=None):
    """A user signed in through a first-party client: (user, client, secret, token body)."""
    user = user or await make_user(session)
    if api_client is None:
        api_client, secret = await _first_party(session)
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": user.email, "password": PASSWORD},
        auth=(api_client.client_id, secret),
    )
    assert r.status_code == 200, r.text
    return user, api_client, secret, r.json()


async def _introspect(client, api_client, secret, tok):
    return await client.post(
        "/oauth/introspect", data={"token": tok}, auth=(api_client.client_id, secret)
    )


async def _revoke(client, api_client, secret, tok, **extra):
    return await client.post(
        "/oauth/revoke", data={"token": tok, **extra}, auth=(api_client.client_id, secret)
    )


async def _refresh(client, api_client, secret, refresh_token):
    return await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(api_client.client_id, secret),
    )


async def _me_status(client, tok) -> int:
    return (await client.get("/api/v1/me", headers=bearer(tok))).status_code


def _assert_inactive(r) -> None:
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.json() == INACTIVE


# --- introspection -----------------------------------------------------------------------


async def test_introspecting_a_live_access_token_describes_it(client, session):
    user, api_client, secret, body = await _sign_in(client, session)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})

    r = await _introspect(client, api_client, secret, body["access_token"])
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    info = r.json()
    assert info["active"] is True
    assert info["token_type"] == "Bearer"
    assert info["scope"] == "users:read"
    assert info["client_id"] == api_client.client_id
    assert info["sub"] == str(user.id)
    assert info["username"] == user.email
    assert info["jti"] == claims["jti"]
    assert info["iat"] == claims["iat"]
    assert info["exp"] == claims["exp"]
    assert info["exp"] - info["iat"] == 900


async def test_introspecting_a_live_refresh_token_describes_it(client, session):
    user, api_client, secret, body = await _sign_in(client, session)

    r = await _introspect(client, api_client, secret, body["refresh_token"])
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["active"] is True
    assert info["token_type"] == "refresh_token"
    assert info["scope"] == "users:read"
    assert info["client_id"] == api_client.client_id
    assert info["sub"] == str(user.id)
    assert info["exp"] > info["iat"]
    assert "jti" not in info


async def test_introspecting_garbage_is_only_inactive(client, session):
    api_client, secret = await _first_party(session)
    for garbage in ("not-a-token", "art_not-a-real-refresh-token", "a.b.c"):
        _assert_inactive(await _introspect(client, api_client, secret, garbage))


async def test_introspecting_an_expired_access_token_is_only_inactive(client, session):
    _, api_client, secret, body = await _sign_in(client, session)
    clock.advance(timedelta(seconds=901))
    _assert_inactive(await _introspect(client, api_client, secret, body["access_token"]))


async def test_introspecting_a_revoked_token_is_only_inactive(client, session):
    _, api_client, secret, body = await _sign_in(client, session)
    assert (await _revoke(client, api_client, secret, body["access_token"])).status_code == 200
    _assert_inactive(await _introspect(client, api_client, secret, body["access_token"]))


async def test_introspecting_another_clients_tokens_is_only_inactive(client, session):
    _, _, _, body = await _sign_in(client, session)
    other, other_secret = await make_client(session, "users:read")
    _assert_inactive(await _introspect(client, other, other_secret, body["access_token"]))
    _assert_inactive(await _introspect(client, other, other_secret, body["refresh_token"]))


async def test_client_allowed_admin_may_introspect_another_clients_tokens(client, session):
    user, api_client, _, body = await _sign_in(client, session)
    admin_client, admin_secret = await make_client(session, "admin users:read")

    r = await _introspect(client, admin_client, admin_secret, body["access_token"])
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["active"] is True
    assert info["token_type"] == "Bearer"
    assert info["client_id"] == api_client.client_id
    assert info["sub"] == str(user.id)

    r = await _introspect(client, admin_client, admin_secret, body["refresh_token"])
    assert r.status_code == 200, r.text
    assert r.json()["active"] is True
    assert r.json()["client_id"] == api_client.client_id


async def test_introspection_without_client_authentication_is_401_invalid_client(client, session):
    _, _, _, body = await _sign_in(client, session)
    r = await client.post("/oauth/introspect", data={"token": body["access_token"]})
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["error"] == "invalid_client"
    assert "active" not in r.json()


async def test_introspection_with_a_json_body_is_415(client, session):
    _, api_client, secret, body = await _sign_in(client, session)
    r = await client.post(
        "/oauth/introspect",
        json={"token": body["access_token"]},
        auth=(api_client.client_id, secret),
    )
    assert r.status_code == 415, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "active" not in r.json()


# --- revocation --------------------------------------------------------------------------


async def test_revoked_access_token_is_refused_and_inactive(client, session):
    _, api_client, secret, body = await _sign_in(client, session)
    assert await _me_status(client, body["access_token"]) == 200

    r = await _revoke(client, api_client, secret, body["access_token"])
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"

    assert await _me_status(client, body["access_token"]) == 401
    _assert_inactive(await _introspect(client, api_client, secret, body["access_token"]))


async def test_revoking_a_refresh_token_revokes_the_whole_grant(client, session):
    _, api_client, secret, body = await _sign_in(client, session)
    assert await _me_status(client, body["access_token"]) == 200

    r = await _revoke(
        client, api_client, secret, body["refresh_token"], token_type_hint="refresh_token"
    )
    assert r.status_code == 200, r.text

    r = await _refresh(client, api_client, secret, body["refresh_token"])
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_grant"
    assert await _me_status(client, body["access_token"]) == 401
    _assert_inactive(await _introspect(client, api_client, secret, body["access_token"]))
    _assert_inactive(await _introspect(client, api_client, secret, body["refresh_token"]))


async def test_revoking_a_refresh_token_leaves_other_sign_ins_alone(client, session):
    user, api_client, secret, first = await _sign_in(client, session)
    _, _, _, second = await _sign_in(client, session, api_client, secret, user)

    assert (await _revoke(client, api_client, secret, first["refresh_token"])).status_code == 200
    assert await _me_status(client, first["access_token"]) == 401
    assert await _me_status(client, second["access_token"]) == 200
    r = await _refresh(client, api_client, secret, second["refresh_token"])
    assert r.status_code == 200, r.text


async def test_revoking_an_unknown_token_is_200(client, session):
    api_client, secret = await _first_party(session)
    for unknown in ("not-a-token", "art_not-a-real-refresh-token"):
        r = await _revoke(client, api_client, secret, unknown)
        assert r.status_code == 200, r.text
        assert r.content == b""


async def test_another_client_revoking_my_tokens_is_200_but_changes_nothing(client, session):
    _, api_client, secret, body = await _sign_in(client, session)
    other, other_secret = await make_client(session, "users:read")

    for tok in (body["access_token"], body["refresh_token"]):
        r = await _revoke(client, other, other_secret, tok)
        assert r.status_code == 200, r.text

    assert await _me_status(client, body["access_token"]) == 200
    info = (await _introspect(client, api_client, secret, body["access_token"])).json()
    assert info["active"] is True
    r = await _refresh(client, api_client, secret, body["refresh_token"])
    assert r.status_code == 200, r.text
