"""One error hierarchy, rendered as RFC 9457 ``application/problem+json`` by one set of handlers.

Services raise :class:`AppError` subclasses; database errors that escape are translated here, so
SQL and stack traces never reach a client.
"""

import logging
from http import HTTPStatus
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.kit.context import request_id_var

logger = logging.getLogger("accord.errors")

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    field: str
    code: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document. ``code`` is stable and meant for machines."""

    type: str
    title: str
    status: int
    detail: str | None = None
    code: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class AppError(Exception):
    status: int = 500
    code: str = "internal_error"
    title: str | None = None
    # When true, what the request wrote before raising is committed (e.g. a failed-login counter
    # or a revoked token family must survive the error response).
    persist: bool = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        persist: bool | None = None,
    ) -> None:
        super().__init__(detail or self.code)
        self.detail = detail
        if code:
            self.code = code
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}
        if persist is not None:
            self.persist = persist


class BadRequest(AppError):
    status, code = 400, "bad_request"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"

    def __init__(self, detail: str = "Authentication required", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="accord"'})
        super().__init__(detail, **kw)


class Forbidden(AppError):
    status, code = 403, "forbidden"


class InsufficientScope(AppError):
    status, code = 403, "insufficient_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(
            f"This operation requires the scope '{scope}'",
            headers={
                "WWW-Authenticate": f'Bearer realm="accord", error="insufficient_scope", '
                f'scope="{scope}"'
            },
            extra={"scope": scope},
        )


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class InvalidStateTransition(AppError):
    status, code = 409, "invalid_state_transition"


class PreconditionFailed(AppError):
    status, code = 412, "version_conflict"


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"


class ValidationFailed(AppError):
    status, code = 422, "validation_error"


class TooManyRequests(AppError):
    status, code = 429, "rate_limited"


class ServiceUnavailable(AppError):
    status, code = 503, "service_unavailable"


def problem_body(
    status: int,
    code: str,
    detail: str | None = None,
    *,
    title: str | None = None,
    errors: list[dict[str, str]] | None = None,
    instance: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {
        "type": f"https://accord.dev/problems/{code.replace('_', '-')}",
        "title": title or phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    rid = request_id_var.get()
    if rid:
        body["request_id"] = rid
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def problem_response(
    status: int, code: str, detail: str | None = None, *, headers=None, **kw: Any
) -> Response:
    return Response(
        orjson.dumps(problem_body(status, code, detail, **kw)),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _field_of(loc: tuple | list) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:] or parts
    return ".".join(parts)


async def app_error_handler(request: Request, exc: AppError) -> Response:
    if exc.status >= 500:
        logger.error("application error: %s", exc, exc_info=exc)
    return problem_response(
        exc.status,
        exc.code,
        exc.detail,
        title=exc.title,
        errors=exc.errors,
        headers=exc.headers,
        instance=request.url.path,
        extra=exc.extra,
    )


async def validation_error_handler(request: Request, exc: RequestValidationError) -> Response:
    errs = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errs):
        return problem_response(
            400, "malformed_body", "The request body is not valid JSON", instance=request.url.path
        )
    errors = [
        {
            "field": _field_of(e.get("loc", ())),
            "code": e.get("type", "invalid"),
            "message": e["msg"],
        }
        for e in errs
    ]
    return problem_response(
        422,
        "validation_error",
        "The request is not valid",
        errors=errors,
        instance=request.url.path,
    )


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> Response:
    codes = {
        400: "bad_request",
        401: "unauthorized",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
    }
    return problem_response(
        exc.status_code,
        codes.get(exc.status_code, f"http_{exc.status_code}"),
        exc.detail if isinstance(exc.detail, str) else None,
        headers=getattr(exc, "headers", None),
        instance=request.url.path,
    )


def _constraint_field(exc: DBAPIError) -> str | None:
    orig = getattr(exc.orig, "__cause__", None) or exc.orig
    name = getattr(orig, "constraint_name", None)
    return name


async def integrity_error_handler(request: Request, exc: IntegrityError) -> Response:
    return _conflict(request, _constraint_field(exc))


def _conflict(request: Request, constraint: str | None) -> Response:
    logger.info("integrity error on %s: %s", request.url.path, constraint)
    return problem_response(
        409,
        "conflict",
        "The change conflicts with existing data",
        instance=request.url.path,
        extra={"constraint": constraint} if constraint else None,
    )


async def dbapi_error_handler(request: Request, exc: DBAPIError) -> Response:
    orig = getattr(exc.orig, "__cause__", None) or exc.orig
    return await _database_error(request, exc, getattr(orig, "sqlstate", None) or "")


async def postgres_error_handler(request: Request, exc: asyncpg.PostgresError) -> Response:
    """The server's errors as asyncpg raises them, from statements run on the driver itself
    (app.kit.db.Prepared): answered as the same errors through SQLAlchemy are."""
    sqlstate = exc.sqlstate or ""
    if sqlstate.startswith("23"):  # integrity: unique, foreign key, check
        return _conflict(request, getattr(exc, "constraint_name", None))
    return await _database_error(request, exc, sqlstate)


async def _database_error(request: Request, exc: Exception, sqlstate: str) -> Response:
    if sqlstate == "55P03":  # lock_not_available: a row is locked by another transaction
        return problem_response(
            409,
            "resource_locked",
            "The record is being changed by another request; retry shortly",
            headers={"Retry-After": "1"},
            instance=request.url.path,
        )
    if sqlstate == "57014":  # query_canceled (statement timeout)
        return problem_response(
            503,
            "timeout",
            "The request took too long",
            headers={"Retry-After": "2"},
            instance=request.url.path,
        )
    if sqlstate.startswith("22"):  # data exception: value out of range, bad format, ...
        return problem_response(
            422, "invalid_value", "A value is out of range or malformed", instance=request.url.path
        )
    if sqlstate in ("40001", "40P01"):  # serialization failure, deadlock
        return problem_response(
            409, "retry", "Concurrent update; retry", headers={"Retry-After": "1"}
        )
    return await unhandled_error_handler(request, exc)


async def unhandled_error_handler(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error", exc_info=exc)
    return problem_response(
        500,
        "internal_error",
        "An unexpected error occurred; quote the request id when reporting it",
        instance=request.url.path,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(AppError, app_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(IntegrityError, integrity_error_handler)
    app.add_exception_handler(DBAPIError, dbapi_error_handler)
    app.add_exception_handler(asyncpg.PostgresError, postgres_error_handler)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem documents an operation can answer."""
    out: dict[int | str, dict[str, Any]] = {}
    for s in statuses:
        out[s] = {
            "description": HTTPStatus(s).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return out
