"""Route lookup by the path's first segments, in front of FastAPI's routing, for lean routes.

FastAPI (0.16x) keeps each included router as a unit: per request it asks every router in turn
whether the path is its own, then matches again inside the one that said yes. With 58 routers
that was half the CPU of ``/healthz`` and about a tenth of a get by id. This builds, once, an
index from a path's first three segments to the routes that could match there, kept in
FastAPI's order. When the first route that fully matches a request is a :func:`lean
<app.kit.lean.lean>` one, the request is handed to that route's app directly, with the scope
FastAPI would have set (``route``, ``endpoint``, ``path_params``, the effective route context).
Every other request (another kind of route first, a method not allowed, no match, a trailing
slash to redirect) goes through FastAPI's own routing unchanged.

It uses FastAPI internals (the included routers' effective route contexts); where they are not
there, ``install`` leaves the app as it is. ``tests/kit/test_dispatch.py`` checks, for every
route and method, that the lookup picks what FastAPI picks.
"""

import logging
from typing import Any

from starlette._utils import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

try:  # FastAPI internals; without them FastAPI routes every request itself.
    from fastapi.routing import (
        _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
        _FASTAPI_SCOPE_KEY,
        _EffectiveRouteContext,
        _IncludedRouter,
        _route_selected,
    )
except ImportError:  # pragma: no cover - depends on the installed FastAPI
    _IncludedRouter = None

from app.kit.lean import MARK

logger = logging.getLogger("accord.dispatch")
# Segments of the path that key the index: "/api/v1/leads/..." -> ("api", "v1", "leads").
DEPTH = 3


def _key(path: str) -> tuple[str, ...]:
    return tuple(path.split("/", DEPTH + 1)[1 : DEPTH + 1])


class _Entry:
    __slots__ = ("context", "convertors", "methods", "regex")

    def __init__(self, regex, convertors, context, methods) -> None:
        self.regex = regex
        self.convertors = convertors
        # None: not a lean route; a request it matches is left to FastAPI.
        self.context = context
        self.methods = methods


class Dispatch:
    def __init__(self, router, fallback: ASGIApp) -> None:
        self.router = router
        self.fallback = fallback
        self._version: Any = None
        self._buckets: dict[tuple[str, ...], list[_Entry]] = {}
        self._wildcards: list[_Entry] = []

    def _routes_version(self) -> Any:
        # The app's own list of routes (cheap to check on each request). Routes added to a
        # router after it was included are not seen; Accord includes its routers built.
        return len(self.router.routes), getattr(self.router, "_routes_version", None)

    def _build(self) -> None:
        ordered: list[tuple[tuple[str, ...] | None, _Entry]] = []
        for route in self.router.routes:
            contexts = (
                route.effective_route_contexts() if isinstance(route, _IncludedRouter) else [route]
            )
            for ctx in contexts:
                ordered.append(_entry(ctx))
        buckets: dict[tuple[str, ...], list[_Entry]] = {}
        for key, _ in ordered:
            if key is not None:
                buckets.setdefault(key, [])
        # Each bucket: its own routes and every wildcard route, in FastAPI's order.
        for key, entry in ordered:
            for bucket in buckets.values() if key is None else (buckets[key],):
                bucket.append(entry)
        self._buckets = buckets
        self._wildcards = [entry for key, entry in ordered if key is None]

    def lookup(self, scope: Scope) -> tuple[Any, dict] | None:
        """The lean route context FastAPI would pick for this request and its path
        parameters, or None where FastAPI must decide."""
        version = self._routes_version()
        if version != self._version:
            self._build()
            self._version = version
        path = get_route_path(scope)
        method = scope["method"]
        for entry in self._buckets.get(_key(path), self._wildcards):
            match = entry.regex.match(path)
            if match is None:
                continue
            if entry.methods and method not in entry.methods:
                continue  # a partial match: FastAPI goes on looking for a full one too
            if entry.context is None:
                return None
            params = match.groupdict()
            for name, value in params.items():
                params[name] = entry.convertors[name].convert(value)
            return entry.context, params
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hit = self.lookup(scope) if scope["type"] == "http" else None
        if hit is None:
            await self.fallback(scope, receive, send)
            return
        ctx, params = hit
        # What FastAPI's router and the included router set before calling the route.
        scope.setdefault("router", self.router)
        scope["endpoint"] = ctx.endpoint
        scope["path_params"] = {**scope.get("path_params", {}), **params}
        scope.setdefault(_FASTAPI_SCOPE_KEY, {})[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = ctx
        scope["route"] = ctx.original_route
        _route_selected(scope=scope, path=ctx.path_format)  # FastAPI's telemetry, if on
        await ctx.app(scope, receive, send)


def _entry(route) -> tuple[tuple[str, ...] | None, _Entry]:
    lean = (
        isinstance(route, _EffectiveRouteContext)
        and getattr(route.endpoint, MARK, False)
        and route.app is not None
        and route.path_regex is not None
    )
    regex = getattr(route, "path_regex", None)
    fmt = getattr(route, "path_format", None)
    if regex is None or fmt is None:
        # Something that matches in its own way: a wildcard that leaves any request it might
        # take to FastAPI.
        return None, _Entry(_ANY, {}, None, None)
    segments = fmt.split("/")[1:]
    head = segments[:DEPTH]
    key = tuple(head) if all("{" not in s for s in head) else None
    return key, _Entry(
        regex,
        route.param_convertors,
        route if lean else None,
        getattr(route, "methods", None),
    )


class _Any:
    @staticmethod
    def match(path: str):
        return True


_ANY = _Any()


def install(app) -> bool:
    """Put the lookup in front of the app's router; False where FastAPI's internals differ."""
    router = app.router
    if _IncludedRouter is None or getattr(router, "middleware_stack", None) is None:
        logger.warning("FastAPI's routing internals differ: routing without the index")
        return False
    router.middleware_stack = Dispatch(router, router.middleware_stack)
    return True
