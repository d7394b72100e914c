"""``POST /api/v1/batch``: up to 200 operations in one call, all-or-none or independent.

Each operation runs as a request through the whole application (authentication, scopes, record
access, validation, idempotency, problem+json), so a batch can do nothing a single call could
not. They share the batch's database connection: all-or-none runs them in one transaction and
rolls it back at the first failure; independent mode gives each its own savepoint.
"""

from typing import Any

import orjson
from fastapi import Request

from app.auth.principal import CurrentPrincipal
from app.batch.schemas import BatchOperation, BatchRequest, BatchResponse, BatchResult
from app.kit.db import Session, savepoint_factory
from app.kit.errors import problem_body, problem_responses
from app.kit.routing import Router

router = Router(prefix="/api/v1/batch", tags=["batch"])
NOT_RUN = 424


async def _dispatch(request: Request, op: BatchOperation, factory) -> BatchResult:
    path, _, query = op.path.partition("?")
    if path.rstrip("/") == "/api/v1/batch":
        return BatchResult(
            status=400, body=problem_body(400, "bad_request", "Batches cannot be nested")
        )
    body = orjson.dumps(op.body) if op.body is not None else b""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    auth = request.headers.get("authorization")
    if auth:
        headers.append((b"authorization", auth.encode("latin-1")))
    if op.if_match:
        headers.append((b"if-match", op.if_match.encode("latin-1")))
    rid = request.headers.get("x-request-id")
    if rid:
        headers.append((b"x-request-id", rid.encode("latin-1")))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": op.method,
        "scheme": request.url.scheme,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": headers,
        "client": request.scope.get("client"),
        "server": request.scope.get("server"),
        "app": request.app,
        "accord.session_factory": factory,
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status, out_headers, chunks = 500, {}, []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await request.app(scope, receive, send)
    raw = b"".join(chunks)
    try:
        parsed = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        parsed = raw.decode(errors="replace")
    return BatchResult(
        status=status,
        body=parsed,
        etag=out_headers.get("etag"),
        location=out_headers.get("location"),
    )


@router.post(
    "",
    name="run",
    summary="Run up to 200 operations in one call",
    response_model=BatchResponse,
    responses=problem_responses(400, 401, 413, 422),
)
async def run(
    request: Request, session: Session, body: BatchRequest, principal: CurrentPrincipal
) -> BatchResponse:
    """Each operation is a request (`method`, `path` under `/api/v1`, optional JSON `body` and
    `if_match`) checked exactly like a single call with the same token. With `all_or_none`
    (the default) the first operation that fails (status 400 or more) rolls back the ones before
    it and the rest are not run (status 424); `committed` is then false. Without it, every
    operation commits or fails on its own."""
    # Each operation gets its own session on the batch's connection, inside a savepoint.
    in_batch = savepoint_factory(await session.connection())

    results: list[BatchResult] = []
    failed = False
    for op in body.operations:
        if failed:
            results.append(
                BatchResult(
                    status=NOT_RUN,
                    body=problem_body(NOT_RUN, "not_run", "Not run: an earlier operation failed"),
                )
            )
            continue
        result = await _dispatch(request, op, in_batch)
        results.append(result)
        if body.all_or_none and result.status >= 400:
            failed = True
    if failed:
        await session.rollback()
    return BatchResponse(committed=not failed, results=results)
