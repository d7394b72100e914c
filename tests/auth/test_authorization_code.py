"""The authorization-code grant with PKCE (S256): the browser flow, bearer sign-in, public
clients, and every way a request or an exchange is refused."""

import html
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from app.kit import clock
from tests.factories import bearer, make_client, make_user, pkce_pair

PASSWORD = "correct horse battery"
CALLBACK = "https://app.example.com/cb"
ISSUER = "http://localhost:8000"


async def _frontend(session, *, public=False, scopes="users:read"):
    return await make_client(
        session,
        scopes,
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[CALLBACK],
        public=public,
    )


def _authorize_url(api_client, challenge, **overrides) -> str:
    params = {
        "response_type": "code",
        "client_id": api_client.client_id,
        "redirect_uri": CALLBACK,
        "state": "xyz-state",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    params = {k: v for k, v in params.items() if v is not None}
    return "/oauth/authorize?" + urlencode(params)


def _redirect_params(r) -> dict[str, str]:
    """Where a 302 goes, checked to be the registered callback, and its query parameters."""
    assert r.status_code == 302, r.text
    location = urlsplit(r.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    params = parse_qs(location.query, strict_parsing=True)
    assert all(len(v) == 1 for v in params.values()), params
    return {k: v[0] for k, v in params.items()}


async def _password_token(client, session, user) -> str:
    first_party, secret = await make_client(
        session, "users:read", grant_types=["password", "refresh_token"]
    )
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": user.email, "password": PASSWORD},
        auth=(first_party.client_id, secret),
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def _code_for(client, session, api_client, challenge, user=None) -> str:
    """An authorization code for ``user`` (signed in with their own bearer token)."""
    user = user or await make_user(session)
    tok = await _password_token(client, session, user)
    r = await client.get(_authorize_url(api_client, challenge), headers=bearer(tok))
    return _redirect_params(r)["code"]


async def _exchange(client, api_client, secret, code, verifier, redirect_uri=CALLBACK):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "client_id": api_client.client_id,
    }
    if redirect_uri is not None:
        data["redirect_uri"] = redirect_uri
    if secret is not None:
        data["client_secret"] = secret
    return await client.post("/oauth/token", data=data)


async def _refresh(client, api_client, secret, refresh_token):
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": api_client.client_id,
    }
    if secret is not None:
        data["client_secret"] = secret
    return await client.post("/oauth/token", data=data)


def _assert_invalid_grant(r) -> None:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["error"] == "invalid_grant"
    assert r.headers["cache-control"] == "no-store"


# --- the happy paths ---------------------------------------------------------------------


async def test_browser_signs_in_then_authorize_redirects_with_code_exchanged_for_tokens(
    client, session
):
    user = await make_user(session)
    api_client, secret = await _frontend(session)
    verifier, challenge = pkce_pair()
    authorize = _authorize_url(api_client, challenge)

    # Not signed in: the sign-in page, which comes back to this very request.
    r = await client.get(authorize)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    assert 'action="/oauth/login"' in r.text
    assert f'name="next" value="{html.escape(authorize, quote=True)}"' in r.text
    assert client.cookies.get("accord_session") is None

    r = await client.post(
        "/oauth/login", data={"email": user.email, "password": PASSWORD, "next": authorize}
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == authorize
    set_cookie = r.headers["set-cookie"]
    assert set_cookie.startswith("accord_session=")
    assert "httponly" in set_cookie.lower() and "path=/oauth" in set_cookie.lower()
    assert client.cookies.get("accord_session")

    # Signed in: straight back to the client with a code, the state and the issuer.
    r = await client.get(authorize)
    params = _redirect_params(r)
    assert set(params) == {"code", "state", "iss"}
    assert params["state"] == "xyz-state"
    assert params["iss"] == ISSUER
    assert params["code"].startswith("aac_")

    r = await _exchange(client, api_client, secret, params["code"], verifier)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "users:read"
    assert body["expires_in"] == 900
    assert body["refresh_token"].startswith("art_")

    r = await client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["kind"] == "user"
    assert me["client_id"] == api_client.client_id
    assert me["user"]["id"] == str(user.id)
    assert me["user"]["email"] == user.email


async def test_authorize_accepts_the_users_own_bearer_token_as_sign_in(client, session):
    user = await make_user(session)
    api_client, secret = await _frontend(session)
    verifier, challenge = pkce_pair()
    tok = await _password_token(client, session, user)

    r = await client.get(_authorize_url(api_client, challenge), headers=bearer(tok))
    params = _redirect_params(r)
    assert params["state"] == "xyz-state" and params["iss"] == ISSUER
    assert client.cookies.get("accord_session") is None

    r = await _exchange(client, api_client, secret, params["code"], verifier)
    assert r.status_code == 200, r.text
    me = (await client.get("/api/v1/me", headers=bearer(r.json()["access_token"]))).json()
    assert me["user"]["id"] == str(user.id)
    assert me["client_id"] == api_client.client_id


async def test_public_client_exchanges_and_refreshes_with_only_its_client_id(client, session):
    user = await make_user(session)
    api_client, secret = await _frontend(session, public=True)
    assert secret is None
    verifier, challenge = pkce_pair()
    code = await _code_for(client, session, api_client, challenge, user)

    r = await _exchange(client, api_client, None, code, verifier)
    assert r.status_code == 200, r.text
    body = r.json()
    me = (await client.get("/api/v1/me", headers=bearer(body["access_token"]))).json()
    assert me["user"]["id"] == str(user.id)

    r = await _refresh(client, api_client, None, body["refresh_token"])
    assert r.status_code == 200, r.text
    assert r.json()["refresh_token"] != body["refresh_token"]


# --- refused exchanges -------------------------------------------------------------------


async def test_authorization_code_reuse_revokes_tokens_from_first_exchange(client, session):
    api_client, secret = await _frontend(session)
    verifier, challenge = pkce_pair()
    code = await _code_for(client, session, api_client, challenge)

    first = await _exchange(client, api_client, secret, code, verifier)
    assert first.status_code == 200, first.text
    tokens = first.json()
    me = await client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200

    second = await _exchange(client, api_client, secret, code, verifier)
    _assert_invalid_grant(second)

    me = await client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401
    _assert_invalid_grant(await _refresh(client, api_client, secret, tokens["refresh_token"]))


async def test_wrong_code_verifier_is_invalid_grant_and_burns_the_code(client, session):
    api_client, secret = await _frontend(session)
    verifier, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    code = await _code_for(client, session, api_client, challenge)

    _assert_invalid_grant(await _exchange(client, api_client, secret, code, other_verifier))
    # The code was spent by the failed attempt: the right verifier no longer helps.
    _assert_invalid_grant(await _exchange(client, api_client, secret, code, verifier))


async def test_expired_authorization_code_is_invalid_grant(client, session):
    api_client, secret = await _frontend(session)
    verifier, challenge = pkce_pair()
    code = await _code_for(client, session, api_client, challenge)

    clock.advance(timedelta(seconds=120))
    _assert_invalid_grant(await _exchange(client, api_client, secret, code, verifier))


# --- refused authorization requests ------------------------------------------------------


async def _signed_in(client, session) -> dict[str, str]:
    user = await make_user(session)
    return bearer(await _password_token(client, session, user))


async def test_plain_code_challenge_method_redirects_with_invalid_request(client, session):
    api_client, _ = await _frontend(session)
    verifier, _ = pkce_pair()
    headers = await _signed_in(client, session)
    # With "plain" the challenge is the verifier itself.
    url = _authorize_url(api_client, verifier, code_challenge_method="plain")
    params = _redirect_params(await client.get(url, headers=headers))
    assert params["error"] == "invalid_request"
    assert "S256" in params["error_description"]
    assert params["state"] == "xyz-state" and params["iss"] == ISSUER
    assert "code" not in params


async def test_missing_code_challenge_redirects_with_invalid_request(client, session):
    api_client, _ = await _frontend(session)
    headers = await _signed_in(client, session)
    url = _authorize_url(api_client, None)
    params = _redirect_params(await client.get(url, headers=headers))
    assert params["error"] == "invalid_request"
    assert "PKCE is required" in params["error_description"]
    assert params["state"] == "xyz-state"
    assert "code" not in params


async def test_response_type_token_redirects_with_unsupported_response_type(client, session):
    api_client, _ = await _frontend(session)
    _, challenge = pkce_pair()
    headers = await _signed_in(client, session)
    url = _authorize_url(api_client, challenge, response_type="token")
    params = _redirect_params(await client.get(url, headers=headers))
    assert params["error"] == "unsupported_response_type"
    assert params["state"] == "xyz-state"
    assert "code" not in params and "access_token" not in params


async def test_unregistered_redirect_uri_is_400_problem_and_never_redirects(client, session):
    api_client, _ = await _frontend(session)
    _, challenge = pkce_pair()
    headers = await _signed_in(client, session)
    url = _authorize_url(api_client, challenge, redirect_uri="https://evil.example.com/cb")
    r = await client.get(url, headers=headers)
    assert r.status_code == 400, r.text
    assert "location" not in r.headers
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["error"] == "invalid_request"
    assert "redirect_uri" in r.json()["error_description"]


async def test_unknown_client_id_is_400_problem_and_never_redirects(client, session):
    api_client, _ = await _frontend(session)
    _, challenge = pkce_pair()
    headers = await _signed_in(client, session)
    url = _authorize_url(api_client, challenge, client_id="no-such-client")
    r = await client.get(url, headers=headers)
    assert r.status_code == 400, r.text
    assert "location" not in r.headers
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["error"] == "invalid_request"


async def test_wrong_password_at_login_is_401_without_a_session_cookie(client, session):
    user = await make_user(session)
    api_client, _ = await _frontend(session)
    _, challenge = pkce_pair()
    authorize = _authorize_url(api_client, challenge)

    r = await client.post(
        "/oauth/login",
        data={"email": user.email, "password": "not the password", "next": authorize},
    )
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "Invalid email or password" in r.text
    assert "set-cookie" not in r.headers
    assert client.cookies.get("accord_session") is None

    # Still not signed in: authorize shows the sign-in page again rather than a code.
    r = await client.get(authorize)
    assert r.status_code == 200
    assert 'action="/oauth/login"' in r.text


async def test_redirect_uri_left_out_of_both_requests_is_accepted(client, session):
    """RFC 6749 4.1.3: the token request repeats redirect_uri only if the authorization request
    sent it; a client with one registered URI may leave it out of both."""
    api_client, secret = await _frontend(session)
    verifier, challenge = pkce_pair()
    user = await make_user(session)
    tok = await _password_token(client, session, user)
    r = await client.get(
        _authorize_url(api_client, challenge, redirect_uri=None), headers=bearer(tok)
    )
    code = _redirect_params(r)["code"]
    r = await _exchange(client, api_client, secret, code, verifier, redirect_uri=None)
    assert r.status_code == 200, r.text


async def test_redirect_uri_sent_at_authorize_must_be_repeated(client, session):
    api_client, secret = await _frontend(session)
    verifier, challenge = pkce_pair()
    code = await _code_for(client, session, api_client, challenge)
    r = await _exchange(client, api_client, secret, code, verifier, redirect_uri=None)
    _assert_invalid_grant(r)
