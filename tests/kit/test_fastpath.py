"""The fast path (app/kit/fastpath) reads FastAPI internals. When an upgrade moves them, the
first test fails naming the installed FastAPI; the others check that turning the fast path off
(ACCORD_FASTPATH=off) leaves every answer as it was: FastAPI serves the same endpoints alike."""

import uuid

import fastapi
import httpx
import pytest

from app.kit import fastpath
from app.kit.fastpath import dispatch
from app.main import create_app
from tests.factories import make_user, post_ok, user_token

BROKEN = (
    "FastAPI {version} no longer has what app/kit/fastpath/dispatch.py reads ({what}). "
    "Adapt dispatch.py to this version (tests/kit/test_dispatch.py says whether the index "
    "still picks what FastAPI picks), or serve with ACCORD_FASTPATH=off; then move FastAPI's "
    "upper bound in pyproject.toml."
)


def _broken(what: str) -> str:
    return BROKEN.format(version=fastapi.__version__, what=what)


def test_the_fastapi_internals_the_fast_path_reads_are_there():
    assert dispatch._IncludedRouter is not None, _broken(
        "fastapi.routing._IncludedRouter, _EffectiveRouteContext, _route_selected and the "
        "scope keys of the effective route context"
    )
    app = create_app()
    index = app.router.middleware_stack
    assert isinstance(index, dispatch.Dispatch), _broken("Starlette's router.middleware_stack")
    scope = {
        "type": "http",
        "method": "GET",
        "path": f"/api/v1/leads/{uuid.uuid4()}",
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }
    found = index.lookup(scope)
    assert found is not None, _broken("the included routers' effective route contexts")
    context = found[0]
    for name in ("app", "endpoint", "original_route", "path_format", "path_regex", "methods"):
        assert hasattr(context, name), _broken(f"_EffectiveRouteContext.{name}")


def test_the_switch_turns_it_off(monkeypatch):
    monkeypatch.setenv("ACCORD_FASTPATH", "off")
    assert not fastpath.enabled()
    app = create_app()
    assert not isinstance(app.router.middleware_stack, dispatch.Dispatch)


@pytest.fixture
async def both(app, client, settings, engine, monkeypatch):
    """(fast, plain): the test's app, and the same app without the fast path on the same
    session factory (the test's transaction)."""
    monkeypatch.setenv("ACCORD_FASTPATH", "off")
    plain_app = create_app(settings, engine=engine, session_factory=app.state.session_factory)
    await plain_app.state.keyring.load(engine)
    assert isinstance(app.router.middleware_stack, dispatch.Dispatch)
    assert not isinstance(plain_app.router.middleware_stack, dispatch.Dispatch)
    plain = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=plain_app, raise_app_exceptions=False),
        base_url="http://localhost:8000",
    )
    yield [client, plain]
    await plain.aclose()


def _same(doc):
    """An answer less what differs by nature between two requests."""
    if isinstance(doc, dict):
        return {
            k: _same(v)
            for k, v in doc.items()
            if k not in ("request_id", "id", "created_at", "updated_at", "etag")
        }
    if isinstance(doc, list):
        return [_same(v) for v in doc]
    return doc


async def test_the_same_answers_with_the_fast_path_off(both, session):
    fast, plain = both
    rep = await make_user(session)
    h = await user_token(fast, session, rep, "leads:read leads:write leads:convert")
    lead = await post_ok(fast, h, "leads", {"last_name": "Same", "company": "Same Co"})
    url = f"/api/v1/leads/{lead['id']}"
    reads = [
        ("GET", "/healthz", None, {}),
        ("GET", url, None, h),
        ("GET", url, None, {}),
        ("GET", f"/api/v1/leads/{uuid.uuid4()}", None, h),
        ("GET", "/api/v1/leads/not-a-uuid", None, h),
        ("GET", "/api/v1/leads?company=Same%20Co&limit=5", None, h),
        ("GET", "/api/v1/leads?limit=0", None, h),
        ("POST", "/api/v1/leads", {"company": "No Name"}, h),
        ("POST", "/api/v1/leads", "[1]", h),
        ("PATCH", url, {"company": "Stale"}, {**h, "If-Match": '"99"'}),
    ]
    for method, path, body, headers in reads:
        answers = []
        for http in (fast, plain):
            kw = {"content": body} if isinstance(body, str) else {"json": body}
            if body is None:
                kw = {}
            sent = {"content-type": "application/json", **headers}
            answers.append(await http.request(method, path, headers=sent, **kw))
        on, off = answers
        assert on.status_code == off.status_code, (method, path, on.text, off.text)
        assert on.headers["content-type"] == off.headers["content-type"], (method, path)
        assert _same(on.json()) == _same(off.json()), (method, path)

    # Writes: each app makes its own record, alike.
    made = [await post_ok(http, h, "leads", {"last_name": "Twin", "company": "T"}) for http in both]
    assert _same(made[0]) == _same(made[1])
    converted = []
    for http, record in zip(both, made, strict=True):
        r = await http.post(f"/api/v1/leads/{record['id']}/convert", json={}, headers=h)
        assert r.status_code == 200, r.text
        converted.append(r.json())
    assert sorted(converted[0]) == sorted(converted[1])
