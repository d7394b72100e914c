"""Access tokens: issuing them with client_credentials and refusing every bad one."""

import uuid
from datetime import timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from app.admin import service as admin
from app.kit import clock
from tests.factories import bearer, make_client, make_user, service_token, token


async def test_client_credentials_answers_token_with_no_store(client, session):
    api_client, secret = await make_client(session, "users:read admin")
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "users:read"},
        auth=(api_client.client_id, secret),
    )
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "users:read"
    assert "refresh_token" not in body
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert set(claims) >= {"iss", "aud", "sub", "exp", "iat", "jti", "scope", "client_id"}
    assert claims["exp"] - claims["iat"] == 900
    assert jwt.get_unverified_header(body["access_token"])["kid"]


async def test_client_secret_post_works_and_omitting_scope_grants_all_allowed(client, session):
    api_client, secret = await make_client(session, "users:read leads:read")
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": api_client.client_id,
            "client_secret": secret,
        },
    )
    assert r.status_code == 200
    assert r.json()["scope"] == "leads:read users:read"


async def test_wrong_client_secret_is_401_invalid_client(client, session):
    api_client, _ = await make_client(session, "users:read")
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(api_client.client_id, "acs_wrong"),
    )
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")


async def test_scope_beyond_the_clients_allowance_is_invalid_scope(client, session):
    api_client, secret = await make_client(session, "users:read")
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "users:read admin"},
        auth=(api_client.client_id, secret),
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"
    assert "admin" in r.json()["error_description"]


async def test_grant_type_not_registered_for_client_is_refused(client, session):
    api_client, secret = await make_client(session, "users:read")
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "a@b.c", "password": "x"},
        auth=(api_client.client_id, secret),
    )
    assert r.status_code == 400
    assert r.json()["error"] == "unauthorized_client"


async def test_unknown_grant_type_and_missing_grant_type(client, session):
    api_client, secret = await make_client(session, "users:read")
    r = await client.post(
        "/oauth/token", data={"grant_type": "magic"}, auth=(api_client.client_id, secret)
    )
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = await client.post(
        "/oauth/token", data={"scope": "users:read"}, auth=(api_client.client_id, secret)
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


async def test_token_endpoint_refuses_json_body_with_415(client, session):
    api_client, secret = await make_client(session, "users:read")
    r = await client.post(
        "/oauth/token",
        json={"grant_type": "client_credentials"},
        auth=(api_client.client_id, secret),
    )
    assert r.status_code == 415
    assert r.json()["code"] == "unsupported_media_type"


async def test_missing_scope_is_403_insufficient_scope_naming_it(client, session):
    tok, _ = await service_token(client, session, "users:read")
    r = await client.post(
        "/api/v1/users", json={"email": "x@example.com", "name": "X"}, headers=bearer(tok)
    )
    assert r.status_code == 403
    body = r.json()
    assert body["code"] == "insufficient_scope"
    assert body["scope"] == "admin"
    assert "admin" in body["detail"]
    assert "insufficient_scope" in r.headers["www-authenticate"]
    assert await admin._email_taken(session, "x@example.com") is False


async def test_no_token_is_401_with_www_authenticate(client):
    r = await client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["code"] == "unauthorized"


async def test_non_bearer_authorization_is_401(client):
    r = await client.get("/api/v1/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert r.status_code == 401


def _claims_like(real: str) -> dict:
    claims = jwt.decode(real, options={"verify_signature": False})
    return claims


async def test_token_signed_with_another_key_is_401(client, session):
    tok, _ = await service_token(client, session, "users:read")
    kid = jwt.get_unverified_header(tok)["kid"]
    other = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(_claims_like(tok), other, algorithm="ES256", headers={"kid": kid})
    r = await client.get("/api/v1/me", headers=bearer(forged))
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_token"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


async def test_alg_none_token_is_401(client, session):
    tok, _ = await service_token(client, session, "users:read")
    kid = jwt.get_unverified_header(tok)["kid"]
    unsigned = jwt.encode(_claims_like(tok), None, algorithm="none", headers={"kid": kid})
    r = await client.get("/api/v1/me", headers=bearer(unsigned))
    assert r.status_code == 401


async def test_hs256_token_using_public_key_as_secret_is_401(client, session, app):
    tok, _ = await service_token(client, session, "users:read")
    kid = jwt.get_unverified_header(tok)["kid"]
    jwk = app.state.keyring.jwks()["keys"][0]
    forged = jwt.encode(
        _claims_like(tok), str(jwk).encode() * 2, algorithm="HS256", headers={"kid": kid}
    )
    r = await client.get("/api/v1/me", headers=bearer(forged))
    assert r.status_code == 401


async def test_expired_token_is_401(client, session):
    tok, _ = await service_token(client, session, "users:read")
    assert (await client.get("/api/v1/me", headers=bearer(tok))).status_code == 200
    clock.advance(timedelta(minutes=15, seconds=1))
    r = await client.get("/api/v1/me", headers=bearer(tok))
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_token"


async def test_tampered_claims_are_401(client, session, app):
    tok, _ = await service_token(client, session, "users:read")
    header, _payload, sig = tok.split(".")
    claims = _claims_like(tok)
    claims["scope"] = "admin users:read"
    forged_payload = jwt.utils.base64url_encode(jwt.api_jws.json.dumps(claims).encode()).decode()
    r = await client.get("/api/v1/me", headers=bearer(f"{header}.{forged_payload}.{sig}"))
    assert r.status_code == 401


async def test_wrong_audience_or_issuer_is_401(client, session, app):
    tok, _ = await service_token(client, session, "users:read")
    kid, key = app.state.keyring.signing
    for change in ({"aud": "someone-else"}, {"iss": "https://evil.example"}):
        claims = {**_claims_like(tok), **change}
        forged = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})
        r = await client.get("/api/v1/me", headers=bearer(forged))
        assert r.status_code == 401, change


async def test_token_missing_a_required_claim_is_401(client, session, app):
    tok, _ = await service_token(client, session, "users:read")
    kid, key = app.state.keyring.signing
    claims = _claims_like(tok)
    del claims["jti"]
    forged = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})
    assert (await client.get("/api/v1/me", headers=bearer(forged))).status_code == 401


async def test_revoking_the_client_stops_its_tokens(client, session):
    tok, api_client = await service_token(client, session, "users:read")
    await admin.revoke_client(session, api_client)
    r = await client.get("/api/v1/me", headers=bearer(tok))
    assert r.status_code == 401


async def test_narrowing_a_clients_scopes_applies_to_existing_tokens(client, session):
    tok, api_client = await service_token(client, session, "users:read admin")
    assert (await client.get("/api/v1/api-clients", headers=bearer(tok))).status_code == 200
    api_client.allowed_scopes = ["users:read"]
    await session.flush()
    r = await client.get("/api/v1/api-clients", headers=bearer(tok))
    assert r.status_code == 403 and r.json()["scope"] == "admin"


async def test_client_acting_as_user_gets_user_principal_and_user_ceiling(client, session):
    user = await make_user(session)
    api_client, secret = await make_client(session, "users:read admin", user=user)
    # The user is not an admin: the admin scope cannot be granted through them.
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "admin"},
        auth=(api_client.client_id, secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    tok = await token(client, api_client, secret)
    me = (await client.get("/api/v1/me", headers=bearer(tok))).json()
    assert me["kind"] == "user"
    assert me["user"]["id"] == str(user.id)
    assert me["scopes"] == ["users:read"]


async def test_deactivated_user_tokens_stop_working(client, session):
    user = await make_user(session)
    api_client, secret = await make_client(session, "users:read", user=user)
    tok = await token(client, api_client, secret)
    await admin.deactivate_user(session, user)
    assert (await client.get("/api/v1/me", headers=bearer(tok))).status_code == 401
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(api_client.client_id, secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_token_with_unknown_kid_is_401(client, session, app):
    tok, _ = await service_token(client, session, "users:read")
    _, key = app.state.keyring.signing
    forged = jwt.encode(
        _claims_like(tok), key, algorithm="ES256", headers={"kid": uuid.uuid4().hex}
    )
    assert (await client.get("/api/v1/me", headers=bearer(forged))).status_code == 401


async def test_jwks_publishes_the_signing_key(client, app):
    r = await client.get("/.well-known/jwks.json")
    assert r.status_code == 200
    keys = r.json()["keys"]
    kid, _ = app.state.keyring.signing
    assert kid in {k["kid"] for k in keys}
    assert all(k["kty"] == "EC" and k["alg"] == "ES256" and "d" not in k for k in keys)


async def test_server_metadata_lists_endpoints_and_s256_only(client):
    r = await client.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200
    m = r.json()
    assert m["issuer"] == "http://localhost:8000"
    assert m["token_endpoint"] == "http://localhost:8000/oauth/token"
    assert m["code_challenge_methods_supported"] == ["S256"]
    assert "leads:convert" in m["scopes_supported"]
    assert set(m["grant_types_supported"]) == {
        "client_credentials",
        "authorization_code",
        "refresh_token",
        "password",
    }
