"""Signing-key rotation: new tokens use the new key; tokens signed by the old one keep working
until they expire; the old key leaves the JWKS once nothing it signed can still be valid."""

from datetime import timedelta

import jwt
from sqlalchemy import delete, update

from app.auth import keys
from app.kit import clock
from app.models import SigningKey
from tests.factories import bearer, make_client, token


async def test_rotation_keeps_old_tokens_valid_until_they_expire(committed_app, settings):
    app, client = committed_app
    factory = app.state.session_factory
    async with factory() as s:
        api_client, secret = await make_client(s, "users:read")
        await s.commit()
    old_token = await token(client, api_client, secret)
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    async with factory() as s:
        new_key = await keys.rotate(s, settings)
        await s.commit()
    try:
        # Another process rotated: this one learns the new key on its next reload.
        await app.state.keyring.load(app.state.engine)
        new_token = await token(client, api_client, secret)
        assert jwt.get_unverified_header(new_token)["kid"] == new_key.kid != old_kid
        for tok in (old_token, new_token):
            assert (await client.get("/api/v1/me", headers=bearer(tok))).status_code == 200
        published = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
        assert {old_kid, new_key.kid} <= published

        clock.advance(timedelta(seconds=settings.access_token_ttl_seconds + 200))
        published = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
        assert old_kid not in published and new_key.kid in published
        assert (await client.get("/api/v1/me", headers=bearer(old_token))).status_code == 401
    finally:
        # Leave one active key behind for the other tests, whatever happened above.
        async with factory() as s:
            await s.execute(delete(SigningKey).where(SigningKey.kid != new_key.kid))
            await s.execute(update(SigningKey).values(active=True, verify_until=None))
            await s.commit()
