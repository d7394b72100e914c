"""Idempotency-Key on POST: a retry returns the first response, another body is 422, a
concurrent duplicate is 409, keys are private to their caller, server errors are not kept."""

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from app.kit import clock
from app.models import Account, User
from tests.factories import committed_user_token, make_user, user_token

SCOPES = "accounts:read accounts:write"


async def test_retry_with_same_key_returns_first_response_and_creates_once(client, session):
    h = await user_token(client, session, await make_user(session), SCOPES)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = await client.post("/api/v1/accounts", json={"name": "Once"}, headers={**h, **key})
    again = await client.post("/api/v1/accounts", json={"name": "Once"}, headers={**h, **key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    count = await session.scalar(select(func.count()).where(Account.name == "Once"))
    assert count == 1


async def test_same_key_with_another_body_is_422_and_changes_nothing(client, session):
    h = await user_token(client, session, await make_user(session), SCOPES)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    await client.post("/api/v1/accounts", json={"name": "First"}, headers={**h, **key})
    r = await client.post("/api/v1/accounts", json={"name": "Second"}, headers={**h, **key})
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    assert await session.scalar(select(func.count()).where(Account.name == "Second")) == 0


async def test_keys_are_private_to_their_caller(client, session):
    a = await user_token(client, session, await make_user(session), SCOPES)
    b = await user_token(client, session, await make_user(session), SCOPES)
    key = {"Idempotency-Key": "shared-key"}
    ra = await client.post("/api/v1/accounts", json={"name": "A's"}, headers={**a, **key})
    rb = await client.post("/api/v1/accounts", json={"name": "A's"}, headers={**b, **key})
    assert ra.status_code == rb.status_code == 201
    assert ra.json()["id"] != rb.json()["id"]


async def test_validation_errors_are_replayed_too(client, session):
    h = await user_token(client, session, await make_user(session), SCOPES)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    r1 = await client.post("/api/v1/accounts", json={"name": ""}, headers={**h, **key})
    r2 = await client.post("/api/v1/accounts", json={"name": ""}, headers={**h, **key})
    assert r1.status_code == r2.status_code == 422
    assert r2.headers["idempotent-replayed"] == "true"


async def test_key_expires_after_24_hours(client, session):
    h = await user_token(client, session, await make_user(session), SCOPES)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    r1 = await client.post("/api/v1/accounts", json={"name": "Daily"}, headers={**h, **key})
    clock.advance(timedelta(hours=24, seconds=1))
    h = await user_token(client, session, await make_user(session), SCOPES)  # a fresh token
    r2 = await client.post("/api/v1/accounts", json={"name": "Daily"}, headers={**h, **key})
    assert r2.status_code == 201 and "idempotent-replayed" not in r2.headers
    assert r2.json()["id"] != r1.json()["id"]


async def test_bad_key_and_unauthenticated_requests(client, session):
    h = await user_token(client, session, await make_user(session), SCOPES)
    r = await client.post(
        "/api/v1/accounts", json={"name": "x"}, headers={**h, "Idempotency-Key": "k" * 256}
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_idempotency_key"
    r = await client.post("/api/v1/accounts", json={"name": "x"}, headers={"Idempotency-Key": "k"})
    assert r.status_code == 401


async def test_concurrent_duplicates_create_once_and_the_rest_wait_or_replay(committed_app):
    app, client = committed_app
    h = await committed_user_token(app, client, "admin", is_admin=True)
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "name": "Race", "password": "a long password"}  # argon2: slow
    key = {"Idempotency-Key": uuid.uuid4().hex}
    results = await asyncio.gather(
        *[client.post("/api/v1/users", json=body, headers={**h, **key}) for _ in range(6)]
    )
    codes = [r.status_code for r in results]
    assert codes.count(201) >= 1 and set(codes) <= {201, 409}, codes
    created = {r.json()["id"] for r in results if r.status_code == 201}
    assert len(created) == 1
    for r in results:
        if r.status_code == 409:
            assert r.json()["code"] == "idempotency_in_progress" and r.headers["retry-after"]
    async with app.state.session_factory() as s:
        assert await s.scalar(select(func.count()).where(User.email == email)) == 1
