"""Route lookup by the path's first segments, in front of FastAPI's routing, for lean routes.

FastAPI keeps each included router as a unit: per request it asks every router in turn whether
the path is its own, then matches again inside the one that said yes. This keeps an index from
a path's first three segments to the routes that could match there, in FastAPI's order; each
entry is built on the first request under it, from only the routers that have a route there.
When the first route that fully matches a request is a lean one, its lean handler is called with
the scope FastAPI would have set (``route``, ``endpoint``, ``path_params``, the effective route
context). Every other request (another kind of route first, a method not allowed, no match, a
trailing slash to redirect) goes through FastAPI's own routing unchanged.

The FastAPI internals it reads are imported here and nowhere else; where they are not there,
``install`` leaves the app as it is. ``tests/kit/test_dispatch.py`` checks, for every route and
method, that the lookup picks what FastAPI picks.
"""

import logging
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.routing import Mount, get_route_path
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

from app.kit.fastpath.handlers import MARK, handler_for

logger = logging.getLogger("accord.dispatch")
# Segments of the path that key the index: "/api/v1/leads/..." -> ("api", "v1", "leads").
DEPTH = 3


def _key(path: str) -> tuple[str, ...]:
    return tuple(path.split("/", DEPTH + 1)[1 : DEPTH + 1])


class _Entry:
    __slots__ = ("context", "convertors", "handler", "methods", "regex")

    def __init__(self, regex, convertors, context, methods, handler=None) -> None:
        self.regex = regex
        self.convertors = convertors
        # None: not a lean route; a request it matches is left to FastAPI.
        self.context = context
        self.methods = methods
        self.handler = handler


class _Group:
    """An included router, with the index keys its routes' paths fall under (computed from the
    paths alone, without building FastAPI's route contexts)."""

    __slots__ = ("keys", "router", "wild")

    def __init__(self, router) -> None:
        self.router = router
        self.keys: set[tuple[str, ...]] = set()
        self.wild = False
        self._walk(router.original_router, router.include_context.prefix)

    def _walk(self, router, prefix: str) -> None:
        for route in router.routes:
            if isinstance(route, _IncludedRouter):
                self._walk(route.original_router, prefix + route.include_context.prefix)
                continue
            path = getattr(route, "path", None)
            key = _path_key(prefix + path) if isinstance(path, str) else None
            if key is None or isinstance(route, Mount):
                self.wild = True  # a pattern at the head, or a mount: may match anywhere
            else:
                self.keys.add(key)

    def entries(self, key: tuple[str, ...] | None) -> list["_Entry"]:
        return [
            entry
            for ctx in self.router.effective_route_contexts()
            for entry_key, entry in (_entry(ctx),)
            if entry_key is None or entry_key == key
        ]


class Dispatch:
    def __init__(self, router, fallback: ASGIApp) -> None:
        self.router = router
        self.fallback = fallback
        self._version: Any = None
        self._plan: list[Any] = []
        self._keys: set[tuple[str, ...]] = set()
        self._buckets: dict[tuple[str, ...] | None, list[_Entry]] = {}

    def _routes_version(self) -> Any:
        # The app's own list of routes (cheap to check on each request). Routes added to a
        # router after it was included are not seen; Accord includes its routers built.
        return len(self.router.routes), getattr(self.router, "_routes_version", None)

    def _reset(self) -> None:
        """Only the paths are read here; each bucket is built on its first request, expanding
        just the routers that have a route in it (building every route's FastAPI context up
        front cost about half a second per app, paid by every test)."""
        plan: list[Any] = []
        keys: set[tuple[str, ...]] = set()
        for route in self.router.routes:
            if isinstance(route, _IncludedRouter):
                group = _Group(route)
                keys |= group.keys
                plan.append(group)
            else:
                key, entry = _entry(route)
                if key is not None:
                    keys.add(key)
                plan.append((key, entry))
        self._plan = plan
        self._keys = keys
        self._buckets = {}

    def _bucket(self, key: tuple[str, ...] | None) -> list[_Entry]:
        """The routes that could match a path under ``key`` (None: a key no route path has,
        where only the wildcard routes could), in FastAPI's order."""
        entries: list[_Entry] = []
        for item in self._plan:
            if isinstance(item, _Group):
                if item.wild or (key is not None and key in item.keys):
                    entries.extend(item.entries(key))
            elif item[0] is None or item[0] == key:
                entries.append(item[1])
        self._buckets[key] = entries
        return entries

    def lookup(self, scope: Scope) -> tuple[Any, dict] | None:
        """The lean route context FastAPI would pick for this request and its path
        parameters, or None where FastAPI must decide."""
        hit = self._find(scope)
        return None if hit is None else (hit[0].context, hit[1])

    def _find(self, scope: Scope) -> tuple[_Entry, dict] | None:
        version = self._routes_version()
        if version != self._version:
            self._reset()
            self._version = version
        path = get_route_path(scope)
        method = scope["method"]
        key = _key(path)
        if key not in self._keys:
            key = None  # bounded: buckets are kept only for keys the routes have
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._bucket(key)
        for entry in bucket:
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
            return entry, params
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hit = self._find(scope) if scope["type"] == "http" else None
        if hit is None:
            await self.fallback(scope, receive, send)
            return
        entry, params = hit
        ctx = entry.context
        # What FastAPI's router and the included router set before calling the route.
        scope.setdefault("router", self.router)
        scope["endpoint"] = ctx.endpoint
        scope["path_params"] = {**scope.get("path_params", {}), **params}
        scope.setdefault(_FASTAPI_SCOPE_KEY, {})[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = ctx
        scope["route"] = ctx.original_route
        _route_selected(scope=scope, path=ctx.path_format)  # FastAPI's telemetry, if on
        if getattr(ctx, "max_body_size", None) is not None:
            await ctx.app(scope, receive, send)  # FastAPI's, which applies the limit
            return
        # What ``ctx.app`` (FastAPI's request_response) does, less the two exit stacks a lean
        # handler has no use for (it takes no dependencies) and the exception handling the
        # ExceptionMiddleware outside does the same way for the same scope.
        response = await entry.handler(Request(scope, receive, send))
        await response(scope, receive, send)


def _path_key(fmt: str) -> tuple[str, ...] | None:
    """The index key of a route's path format; None when a pattern is among its head
    segments (it may match under any key)."""
    head = fmt.split("/")[1 : DEPTH + 1]
    return tuple(head) if all("{" not in s for s in head) else None


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
    return _path_key(fmt), _Entry(
        regex,
        route.param_convertors,
        route if lean else None,
        getattr(route, "methods", None),
        handler_for(route.original_route) if lean else None,
    )


class _Any:
    @staticmethod
    def match(path: str):
        return True


_ANY = _Any()


def _lean_routes(routes) -> list:
    """The routes with a lean endpoint among these, through every included router."""
    found = []
    for route in routes:
        if isinstance(route, _IncludedRouter):
            found += _lean_routes(route.original_router.routes)
        elif isinstance(route, APIRoute) and getattr(route.endpoint, MARK, False):
            found.append(route)
    return found


def install(app) -> bool:
    """Put the lookup in front of the app's router, each lean endpoint's handler built now (an
    endpoint it cannot serve is refused here); False where FastAPI's internals differ."""
    router = app.router
    if _IncludedRouter is None or getattr(router, "middleware_stack", None) is None:
        logger.warning("FastAPI's routing internals differ: routing without the index")
        return False
    for route in _lean_routes(router.routes):
        handler_for(route)
    router.middleware_stack = Dispatch(router, router.middleware_stack)
    return True
