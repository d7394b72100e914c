"""The route index (app/kit/fastpath/dispatch.py) must pick, for every request, the route FastAPI's
own routing picks, and leave to FastAPI every request it cannot decide. Checked against FastAPI
for every route of the app and every method, on paths built from each route's pattern (including
path values that are other routes' literal segments), and over HTTP against the same app routed
by FastAPI alone."""

import uuid

import httpx
import pytest
from fastapi.routing import _IncludedRouter
from starlette.routing import Match

from app.kit.fastpath import MARK, dispatch
from app.main import create_app
from app.models import Lead
from tests.factories import make_user, user_token

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _scope(path: str, method: str) -> dict:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }


def _fastapi_pick(app, path: str, method: str):
    """(match, route context or route) as FastAPI's router decides, without running it."""
    scope = _scope(path, method)
    partial = None
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return Match.FULL, _resolve(route, scope)
        if match == Match.PARTIAL and partial is None:
            partial = route
    return (Match.PARTIAL, partial) if partial is not None else (Match.NONE, None)


def _resolve(route, scope):
    while isinstance(route, _IncludedRouter):
        _, _, inner, context = route._match(scope)
        if isinstance(inner, _IncludedRouter):
            route = inner
            continue
        return context if context is not None else inner
    return route


def _contexts(app):
    for route in app.router.routes:
        if isinstance(route, _IncludedRouter):
            yield from route.effective_route_contexts()
        else:
            yield route


def _sample_paths(app) -> set[str]:
    """Each route's pattern filled with a UUID, a word, and every literal segment any route
    has at that depth (the values most likely to confuse an index)."""
    formats = [c.path_format for c in _contexts(app)]
    literals: dict[int, set[str]] = {}
    for fmt in formats:
        for depth, seg in enumerate(fmt.split("/")):
            if "{" not in seg:
                literals.setdefault(depth, set()).add(seg)
    paths = set()
    for fmt in formats:
        segments = fmt.split("/")
        holes = [i for i, s in enumerate(segments) if "{" in s]
        fillers = [str(uuid.uuid4()), "word"]
        for filler in fillers:
            paths.add("/".join(filler if i in holes else s for i, s in enumerate(segments)))
        for i in holes:
            for literal in literals.get(i, ()):
                filled = [str(uuid.uuid4()) if j in holes else s for j, s in enumerate(segments)]
                filled[i] = literal
                paths.add("/".join(filled))
        paths.add(fmt.replace("{", "").replace("}", "") + "/")
    paths |= {"/", "/nope", "/api", "/api/v1", "/api/v1/", "/api/v1/nope/x", "//api/v1/leads"}
    return paths


def test_index_picks_what_fastapi_picks_for_every_route_and_method():
    app = create_app()
    index = app.router.middleware_stack
    assert isinstance(index, dispatch.Dispatch), "the index is not installed"
    paths = _sample_paths(app)
    assert len(paths) > 1000
    hits = 0
    for path in sorted(paths):
        for method in METHODS:
            fast = index.lookup(_scope(path, method))
            match, picked = _fastapi_pick(app, path, method)
            if fast is None:
                # Left to FastAPI: only when FastAPI would not run a lean route for it.
                assert not (match == Match.FULL and getattr(picked.endpoint, MARK, False)), (
                    method,
                    path,
                    picked.path_format,
                )
                continue
            hits += 1
            context, params = fast
            assert match == Match.FULL and picked is context, (method, path)
            assert params == context.matches(_scope(path, method))[1]["path_params"]
    assert hits > 1000


def test_every_lean_route_is_found_by_the_index():
    app = create_app()
    index = app.router.middleware_stack
    missed = []
    for context in _contexts(app):
        if not getattr(getattr(context, "endpoint", None), MARK, False):
            continue
        path = context.path_format
        for name in context.param_convertors:
            path = path.replace("{" + name + "}", str(uuid.uuid4()))
        for method in context.methods:
            found = index.lookup(_scope(path, method))
            if found is None or found[0] is not context:
                missed.append((method, context.path_format))
    assert not missed


def test_a_request_builds_only_the_routers_that_could_take_it():
    """FastAPI's route contexts (dependency analysis, validators) cost about half a second
    for the whole app; a request builds only those of the routers with a route under its
    path's head or a pattern there."""
    app = create_app()
    index = app.router.middleware_stack
    lead = f"/api/v1/leads/{uuid.uuid4()}"
    assert index.lookup(_scope(lead, "GET")) is not None
    included = [r for r in app.router.routes if isinstance(r, _IncludedRouter)]
    built = [r for r in included if r._effective_candidates_version is not None]
    assert 0 < len(built) < len(included) / 4, [r.include_context.prefix for r in built]
    for router in built:
        paths = [c.path_format for c in router.effective_route_contexts()]
        heads = {dispatch._path_key(p) for p in paths}
        assert ("api", "v1", "leads") in heads or None in heads, paths
    # An unknown head builds no bucket of its own (a flood of random paths keeps nothing).
    for n in range(50):
        assert index.lookup(_scope(f"/nope{n}/x/y", "GET")) is None
    assert len(index._buckets) == 2


def test_routes_with_a_pattern_at_the_head_are_seen_under_every_head():
    """A route whose first segments are patterns may take a path under any head, so each
    bucket built on demand still holds it in FastAPI's order: a lean one is found, and a
    route of another kind that FastAPI would pick first leaves the request to FastAPI."""
    from fastapi import FastAPI
    from starlette.responses import Response

    from app.kit.fastpath import lean
    from app.kit.routing import Router

    async def answer() -> Response:
        return Response(b"")

    @lean
    async def fast() -> Response:
        return Response(b"")

    app = FastAPI()
    first = Router()
    first.add_api_route("/{kind}/v1/shadowed/{rest}", answer)  # not lean: FastAPI's
    pixels = Router(prefix="/t")
    pixels.add_api_route("/{token}/pixel.gif", fast)
    docs = Router(prefix="/d")
    nested = Router()
    nested.add_api_route("/open/x/{token}", fast)
    docs.include_router(nested, prefix="/n")
    api = Router(prefix="/api/v1")
    api.add_api_route("/shadowed/{id}", fast)
    api.add_api_route("/seen/{id}", fast)
    for router in (first, pixels, docs, api):
        app.include_router(router)
    assert dispatch.install(app)
    index = app.router.middleware_stack

    def pick(path):
        hit = index.lookup(_scope(path, "GET"))
        return hit and hit[0].path_format

    assert pick("/t/abc/pixel.gif") == "/t/{token}/pixel.gif"
    assert pick("/d/n/open/x/abc") == "/d/n/open/x/{token}"
    assert pick("/api/v1/seen/7") == "/api/v1/seen/{id}"
    assert pick("/api/v1/shadowed/7") is None  # "/{kind}/v1/shadowed/{rest}" comes first
    assert _fastapi_pick(app, "/api/v1/shadowed/7", "GET")[1].endpoint is answer
    assert pick("/t/abc/other") is None


@pytest.fixture
async def routed_by_fastapi(settings, engine, app):
    """The same app with the index taken out: FastAPI routes every request."""
    plain = create_app(settings, engine=engine, session_factory=app.state.session_factory)
    await plain.state.keyring.load(engine)
    assert isinstance(plain.router.middleware_stack, dispatch.Dispatch)
    plain.router.middleware_stack = plain.router.middleware_stack.fallback
    return plain


async def test_requests_answer_as_fastapi_alone_answers(client, session, routed_by_fastapi):
    rep = await make_user(session)
    headers = await user_token(client, session, rep, "leads:read leads:write")
    lead = Lead(owner_id=rep.id, last_name="Index", company="Index Co")
    session.add(lead)
    await session.flush()
    requests = [
        ("GET", f"/api/v1/leads/{lead.id}", None),
        ("GET", f"/api/v1/leads/{uuid.uuid4()}", None),
        ("GET", "/api/v1/leads/not-a-uuid", None),
        ("GET", "/api/v1/leads?status=Nurturing&limit=5", None),
        ("GET", "/api/v1/leads?limit=0", None),
        ("GET", f"/api/v1/leads/{lead.id}/history", None),
        ("PUT", "/api/v1/leads", b"{}"),
        ("DELETE", "/api/v1/leads", None),
        ("GET", "/api/v1/leads/", None),
        ("GET", "/api/v1/nope", None),
        ("GET", "/healthz", None),
        ("POST", "/healthz", None),
        ("OPTIONS", f"/api/v1/leads/{lead.id}", None),
        ("PATCH", f"/api/v1/leads/{lead.id}", b'{"last_name": '),
    ]
    transport = httpx.ASGITransport(app=routed_by_fastapi, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as plain:
        for method, path, body in requests:
            a = await client.request(method, path, headers=headers, content=body)
            b = await plain.request(method, path, headers=headers, content=body)
            assert a.status_code == b.status_code, (method, path, a.text, b.text)
            for name in ("content-type", "allow", "location", "etag"):
                assert a.headers.get(name) == b.headers.get(name), (method, path, name)
            if a.headers.get("content-type", "").endswith("json"):
                got, expected = a.json(), b.json()
                if isinstance(got, dict):
                    got.pop("request_id", None)
                    expected.pop("request_id", None)
                assert got == expected, (method, path)
    # The index served the lead's GET itself (not through FastAPI's routers).
    assert isinstance(client._transport.app.router.middleware_stack, dispatch.Dispatch)
