"""Lean handlers (app/kit/fastpath/handlers.py) read their parameters without FastAPI's solver.
They must answer bad input exactly as FastAPI would: the same endpoint served both ways gives
the same status and body for every request below, and the resource routes keep their
401/403/404/422 answers."""

import inspect
import uuid
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, Header, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from app.kit import errors, fastpath
from app.kit.fastpath.handlers import handler_for
from app.kit.routing import Router
from app.leads.router import router as leads_router
from app.models import Lead
from tests.factories import make_user, user_token


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=10)
    count: int = 0


async def echo(
    record_id: uuid.UUID,
    body: Body,
    code: Annotated[str, Path(min_length=2, max_length=4)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query()] = None,
    if_match: Annotated[str | None, Header()] = None,
):
    payload = {
        "record_id": str(record_id),
        "code": code,
        "body": body.model_dump(),
        "limit": limit,
        "cursor": cursor,
        "if_match": if_match,
    }
    return Response(Body.model_validate({"name": "x"}).model_dump_json() + str(payload))


def _app() -> FastAPI:
    app = FastAPI()
    errors.install(app)
    plain = Router(prefix="/plain")
    plain.post("/{code}/{record_id}")(echo)
    fast = Router(prefix="/lean")
    fast.post("/{code}/{record_id}")(fastpath.lean(_copy(echo)))
    app.include_router(plain)
    app.include_router(fast)
    assert fastpath.install(app)
    return app


def _copy(fn):
    async def copy(*args, **kw):
        return await fn(*args, **kw)

    copy.__signature__ = inspect.signature(fn)
    copy.__annotations__ = fn.__annotations__
    copy.__name__ = fn.__name__
    return copy


RID = "0190f000-0000-7000-8000-0000000000aa"
CASES = [
    # (path after the prefix, query, headers, raw body)
    (f"/ab/{RID}", "", {"content-type": "application/json"}, b'{"name": "ok"}'),
    (f"/ab/{RID}", "limit=7&cursor=c", {"if-match": '"3"'}, b'{"name": "ok", "count": 2}'),
    ("/ab/not-a-uuid", "", {}, b'{"name": "ok"}'),
    (f"/a/{RID}", "", {}, b'{"name": "ok"}'),
    (f"/ab/{RID}", "limit=0", {}, b'{"name": "ok"}'),
    (f"/ab/{RID}", "limit=201", {}, b'{"name": "ok"}'),
    (f"/ab/{RID}", "limit=abc", {}, b'{"name": "ok"}'),
    (f"/ab/{RID}", "", {}, b'{"name": '),
    (f"/ab/{RID}", "", {}, b""),
    (f"/ab/{RID}", "", {}, b"[1, 2]"),
    (f"/ab/{RID}", "", {}, b'{"name": ""}'),
    (f"/ab/{RID}", "", {}, b'{"name": "ok", "extra": 1}'),
    (f"/ab/{RID}", "", {}, b'{"count": "many"}'),
    (f"/ab/{RID}", "limit=0", {}, b'{"count": "many"}'),
    (f"/ab/{RID}", "", {"content-type": "text/plain"}, b'{"name": "ok"}'),
    (f"/ab/{RID}", "", {"content-type": "application/merge-patch+json"}, b'{"name": "ok"}'),
]


@pytest.mark.parametrize(("path", "query", "headers", "body"), CASES)
async def test_lean_route_answers_as_fastapi_does(path, query, headers, body):
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        headers = {"content-type": "application/json", **headers}
        plain = await http.post(f"/plain{path}?{query}", content=body, headers=headers)
        fast = await http.post(f"/lean{path}?{query}", content=body, headers=headers)
    assert fast.status_code == plain.status_code, (fast.text, plain.text)
    expected = plain.json() if plain.status_code >= 400 else plain.text
    got = fast.json() if fast.status_code >= 400 else fast.text
    if isinstance(expected, dict):
        for doc in (expected, got):
            doc.pop("request_id", None)
            doc["instance"] = (doc.get("instance") or "").replace("/plain", "/lean")
    assert got == expected


def test_resource_routes_are_lean():
    leads = {r.name: r for r in leads_router.routes}
    for name in ("list", "get", "create", "update", "delete", "restore", "upsert", "convert"):
        assert getattr(leads[name].endpoint, fastpath.MARK, False), name
        assert callable(handler_for(leads[name]))


async def test_lean_resource_route_refuses_bad_callers_and_input(client, session):
    rep = await make_user(session)
    h = await user_token(client, session, rep, "leads:read leads:write")
    lead = Lead(owner_id=rep.id, last_name="Lean", company="Lean Co")
    session.add(lead)
    await session.flush()

    r = await client.get(f"/api/v1/leads/{lead.id}")
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = await client.get(f"/api/v1/leads/{lead.id}", headers={"Authorization": "Basic x"})
    assert r.status_code == 401
    r = await client.get(f"/api/v1/leads/{lead.id}", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["code"] == "invalid_token"
    read_only = await user_token(client, session, rep, "leads:read")
    r = await client.post(
        "/api/v1/leads", json={"last_name": "X", "company": "Y"}, headers=read_only
    )
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    assert "leads:write" in r.json()["detail"]
    r = await client.get("/api/v1/leads/123", headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "record_id"
    r = await client.get("/api/v1/leads?limit=500", headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "limit"
    r = await client.patch(
        f"/api/v1/leads/{lead.id}",
        content=b'{"last_name": ',
        headers={**h, "content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["code"] == "malformed_body"
    r = await client.patch(f"/api/v1/leads/{lead.id}", json={"version": 9}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "version"
    r = await client.get(f"/api/v1/leads/{lead.id}", headers=h)
    assert r.status_code == 200
    assert r.json()["last_name"] == "Lean" and r.json()["version"] == 1
    assert r.headers["etag"] == '"1"'
