"""Lean handlers: endpoints served without FastAPI's general dependency solver.

An endpoint marked :func:`lean` declares only parameters of a few plain kinds, and its handler
reads them directly:

- the request's session (:data:`app.kit.db.Session`) and the caller
  (``Annotated[Principal, require(...)]``), through the same code as the dependencies;
- path, query and header parameters of scalar types, validated by pydantic with the constraints
  they declare (``Query(ge=1, le=200)``), errors located as FastAPI locates them;
- one JSON body of a pydantic model;
- :class:`Request` and :class:`Response`.

The endpoint must return a :class:`Response` (or ``None`` for an empty answer with the route's
status). FastAPI serves the same endpoint the same way when the fast path is off, and documents
it from the same signature; an endpoint with any other kind of parameter is refused when the fast
path is installed.
"""

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from app.auth.principal import Principal, authorize
from app.kit.db import get_session, request_session

MARK = "__accord_lean__"


def lean(endpoint: Callable) -> Callable:
    """Serve this endpoint by a lean handler on the fast path (see the module's docstring)."""
    setattr(endpoint, MARK, True)
    return endpoint


@dataclass
class _Param:
    name: str
    kind: str  # session, principal, request, response, path, query, header, body
    adapter: Any = None
    alias: str = ""
    default: Any = inspect.Parameter.empty
    scopes: tuple[str, ...] = ()


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _plan(endpoint: Callable, path_names: set[str]) -> list[_Param]:
    hints = typing.get_type_hints(endpoint, include_extras=True)
    plan: list[_Param] = []
    for name, p in inspect.signature(endpoint).parameters.items():
        hint = hints.get(name, p.annotation)
        base, meta = hint, ()
        if typing.get_origin(hint) is Annotated:
            base, *rest = typing.get_args(hint)
            meta = tuple(rest)
        default = p.default
        marker = next((m for m in meta if isinstance(m, params.Depends | params.Param)), None)
        if isinstance(default, params.Depends | params.Param):
            marker, default = default, inspect.Parameter.empty
        if isinstance(marker, params.Depends):
            if marker.dependency is get_session:
                plan.append(_Param(name, "session"))
            elif isinstance(marker, params.Security) and base is Principal:
                plan.append(_Param(name, "principal", scopes=tuple(marker.scopes or ())))
            else:
                raise TypeError(f"lean endpoint {endpoint.__name__}: unsupported dependency {name}")
            continue
        if base is Request:
            plan.append(_Param(name, "request"))
            continue
        if base is Response:
            plan.append(_Param(name, "response"))
            continue
        if inspect.isclass(base) and issubclass(base, BaseModel) and marker is None:
            plan.append(_Param(name, "body", adapter=base))
            continue
        if isinstance(marker, params.Header):
            kind, alias = "header", (marker.alias or name.replace("_", "-")).lower()
        elif name in path_names or isinstance(marker, params.Path):
            kind, alias = "path", marker.alias if marker and marker.alias else name
        elif marker is None or isinstance(marker, params.Query):
            kind, alias = "query", marker.alias if marker and marker.alias else name
        else:
            raise TypeError(f"lean endpoint {endpoint.__name__}: unsupported parameter {name}")
        if marker is not None and marker.default is not ... and default is inspect.Parameter.empty:
            default = marker.default
        adapter = TypeAdapter(Annotated[base, marker] if marker is not None else base)
        plan.append(_Param(name, kind, adapter=adapter, alias=alias, default=default))
    return plan


_HANDLER = "__accord_lean_handler__"


def handler_for(route: APIRoute) -> Callable:
    """The lean handler of a route whose endpoint is marked (``request -> Response``), built once
    per route and kept on it (routers are shared by every app built in a process)."""
    handler = getattr(route, _HANDLER, None)
    if handler is None:
        handler = _build(route)
        setattr(route, _HANDLER, handler)
    return handler


def _build(route: APIRoute) -> Callable:
    plan = _plan(route.endpoint, set(route.param_convertors))
    endpoint, status_code = route.endpoint, route.status_code or 200
    needs_session = any(p.kind in ("session", "principal") for p in plan)

    async def solve(request: Request, session, errors: list) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for p in plan:
            if p.kind == "session":
                values[p.name] = session
            elif p.kind == "principal":
                values[p.name] = await authorize(request, session, p.scopes)
            elif p.kind == "request":
                values[p.name] = request
            elif p.kind == "response":
                values[p.name] = Response()
            elif p.kind == "body":
                values[p.name] = await _body(request, p, errors)
            else:
                if p.kind == "path":
                    source = request.path_params
                elif p.kind == "query":
                    source = request.query_params
                else:
                    source = request.headers
                raw = source.get(p.alias)
                if raw is None:
                    if p.default is inspect.Parameter.empty:
                        errors.append(
                            {
                                "type": "missing",
                                "loc": (p.kind, p.alias),
                                "msg": "Field required",
                                "input": None,
                            }
                        )
                        continue
                    values[p.name] = p.default
                    continue
                try:
                    values[p.name] = p.adapter.validate_python(raw)
                except ValidationError as exc:
                    errors.extend({**e, "loc": (p.kind, p.alias, *e["loc"])} for e in exc.errors())
        return values

    async def run(request: Request, session) -> Response:
        errors: list = []
        values = await solve(request, session, errors)
        if errors:
            # Parameters first, then the body, as FastAPI reports them.
            errors.sort(key=lambda e: e["loc"][0] == "body")
            raise RequestValidationError(errors)
        result = await endpoint(**values)
        if result is None:
            return Response(status_code=status_code)
        return result

    async def handler(request: Request) -> Response:
        if not needs_session:
            return await run(request, None)
        async with request_session(request) as session:
            return await run(request, session)

    return handler


async def _body(request: Request, p: _Param, errors: list) -> Any:
    raw = await request.body()
    if not raw:
        errors.append({"type": "missing", "loc": ("body",), "msg": "Field required", "input": None})
        return None
    if not _is_json(request.headers.get("content-type")):
        errors.append(
            {
                "type": "model_attributes_type",
                "loc": ("body",),
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "input": None,
            }
        )
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error"}]
        ) from exc
    try:
        return p.adapter.model_validate(data, from_attributes=True)
    except ValidationError as exc:
        errors.extend({**e, "loc": ("body", *e["loc"])} for e in exc.errors())
        return None


__all__ = ["MARK", "handler_for", "lean"]
