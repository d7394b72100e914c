"""POST /api/v1/batch: all-or-none rolls everything back at the first failure; independent mode
keeps what succeeded; every operation is checked like a single call."""

import uuid

from sqlalchemy import func, select

from app.models import Account
from tests.factories import make_user, user_token

SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
MARKETING = uuid.UUID("0190f000-0000-7000-8000-000000000004")
SCOPES = "accounts:read accounts:write"


async def _count(session, name):
    return await session.scalar(select(func.count()).where(Account.name == name))


async def test_all_or_none_commits_everything_when_all_succeed(client, session):
    h = await user_token(client, session, await make_user(session), SCOPES)
    tag = uuid.uuid4().hex[:6]
    ops = [
        {"method": "POST", "path": "/api/v1/accounts", "body": {"name": f"{tag}-{i}"}}
        for i in range(3)
    ]
    ops.append({"method": "GET", "path": f"/api/v1/accounts?q={tag}&sort=name"})
    r = await client.post("/api/v1/batch", json={"operations": ops}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["committed"] is True
    assert [x["status"] for x in body["results"]] == [201, 201, 201, 200]
    assert body["results"][0]["etag"] == '"1"'
    assert [a["name"] for a in body["results"][3]["body"]["data"]] == [
        f"{tag}-{i}" for i in range(3)
    ]
    for i in range(3):
        assert await _count(session, f"{tag}-{i}") == 1


async def test_all_or_none_rolls_back_at_first_failure_and_skips_the_rest(client, session):
    h = await user_token(client, session, await make_user(session), SCOPES)
    tag = uuid.uuid4().hex[:6]
    ops = [
        {"method": "POST", "path": "/api/v1/accounts", "body": {"name": f"{tag}-kept?"}},
        {"method": "POST", "path": "/api/v1/accounts", "body": {"name": ""}},
        {"method": "POST", "path": "/api/v1/accounts", "body": {"name": f"{tag}-never"}},
    ]
    r = await client.post("/api/v1/batch", json={"operations": ops}, headers=h)
    body = r.json()
    assert body["committed"] is False
    assert [x["status"] for x in body["results"]] == [201, 422, 424]
    assert body["results"][1]["body"]["code"] == "validation_error"
    assert await _count(session, f"{tag}-kept?") == 0
    assert await _count(session, f"{tag}-never") == 0


async def test_independent_mode_keeps_what_succeeded(client, session):
    h = await user_token(client, session, await make_user(session), SCOPES)
    tag = uuid.uuid4().hex[:6]
    ops = [
        {"method": "POST", "path": "/api/v1/accounts", "body": {"name": f"{tag}-a"}},
        {"method": "PATCH", "path": f"/api/v1/accounts/{uuid.uuid4()}", "body": {"name": "x"}},
        {"method": "POST", "path": "/api/v1/accounts", "body": {"name": f"{tag}-b"}},
    ]
    r = await client.post(
        "/api/v1/batch", json={"all_or_none": False, "operations": ops}, headers=h
    )
    body = r.json()
    assert body["committed"] is True
    assert [x["status"] for x in body["results"]] == [201, 404, 201]
    assert await _count(session, f"{tag}-a") == 1 and await _count(session, f"{tag}-b") == 1


async def test_batch_operations_respect_scopes_and_record_access(client, session):
    owner = await make_user(session, role_id=SALES_REP)
    outsider = await make_user(session, role_id=MARKETING)
    owner_h = await user_token(client, session, owner, SCOPES)
    acc = (await client.post("/api/v1/accounts", json={"name": "Private"}, headers=owner_h)).json()
    h = await user_token(client, session, outsider, "accounts:read")
    ops = [
        {"method": "GET", "path": f"/api/v1/accounts/{acc['id']}"},
        {"method": "GET", "path": f"/api/v1/accounts/{acc['id']}/history"},
        {"method": "POST", "path": "/api/v1/accounts", "body": {"name": "no scope"}},
    ]
    r = await client.post(
        "/api/v1/batch", json={"all_or_none": False, "operations": ops}, headers=h
    )
    results = r.json()["results"]
    assert [x["status"] for x in results] == [404, 404, 403]
    assert results[2]["body"]["code"] == "insufficient_scope"
    assert "Private" not in r.text


async def test_bad_batches_are_refused(client, session):
    h = await user_token(client, session, await make_user(session), SCOPES)
    too_many = [{"method": "GET", "path": "/api/v1/accounts"}] * 201
    r = await client.post("/api/v1/batch", json={"operations": too_many}, headers=h)
    assert r.status_code == 422
    r = await client.post("/api/v1/batch", json={"operations": []}, headers=h)
    assert r.status_code == 422
    r = await client.post(
        "/api/v1/batch",
        json={"operations": [{"method": "GET", "path": "/oauth/token"}]},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("path")
    # An If-Match that no header could carry is refused up front, and the batch does nothing.
    create = {"method": "POST", "path": "/api/v1/accounts", "body": {"name": "Never made"}}
    for bad in ["\U000f87d3", 'W/"1"\r\nX-Evil: 1', "é" * 3]:
        stale = {"method": "DELETE", "path": "/api/v1/accounts/x", "if_match": bad}
        r = await client.post(
            "/api/v1/batch", json={"operations": [create, stale], "all_or_none": False}, headers=h
        )
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["field"].endswith("if_match")
    assert await _count(session, "Never made") == 0
    nested = {"method": "POST", "path": "/api/v1/batch", "body": {"operations": []}}
    r = await client.post("/api/v1/batch", json={"operations": [nested]}, headers=h)
    assert r.json()["results"][0]["status"] == 400
    r = await client.post(
        "/api/v1/batch", json={"operations": [{"method": "GET", "path": "/api/v1/accounts"}]}
    )
    assert r.status_code == 401
