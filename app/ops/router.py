"""Liveness, readiness and metrics for orchestrators and monitoring."""

import asyncio

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from app.kit import metrics
from app.kit.errors import problem_response, problem_responses
from app.kit.fastpath import lean
from app.kit.migrations import current_revision, head_revision
from app.kit.routing import Router

router = Router(tags=["ops"])
_OK = b'{"status":"ok"}'


@router.get("/healthz", name="healthz", summary="Liveness", response_model=dict[str, str])
@lean
async def healthz() -> Response:
    """Answers 200 while the process is up. Does not touch the database."""
    return Response(_OK, media_type="application/json")


@router.get("/readyz", name="readyz", summary="Readiness", responses=problem_responses(503))
async def readyz(request: Request) -> Response:
    """200 when the database answers and its schema is at the latest migration; 503 otherwise."""
    try:
        current = await asyncio.wait_for(current_revision(request.app.state.engine), 5)
    except (SQLAlchemyError, OSError, TimeoutError):
        return problem_response(503, "database_unavailable", "The database is not reachable")
    head = head_revision()
    if current != head:
        return problem_response(
            503,
            "migrations_pending",
            f"The database is at revision {current}, the code expects {head}",
        )
    return JSONResponse({"status": "ready", "database": "ok", "revision": current})


@router.get(
    "/metrics",
    name="metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics_endpoint() -> Response:
    """Request counts and latencies per route, in the Prometheus text format."""
    body, ctype = metrics.render()
    return Response(body, media_type=ctype)
