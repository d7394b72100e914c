"""Opportunities and their line items over HTTP: the standard operations of the resource
machinery, and the stage history."""

import uuid
from typing import Annotated

from fastapi import Query, Response

from app.auth.principal import Principal, require
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.pagination import MAX_LIMIT, Page
from app.kit.resource import build_router
from app.opportunities import repository, schemas
from app.opportunities.repository import line_items, records

router = build_router(records)
line_items_router = build_router(line_items)


@router.get(
    "/{record_id}/stage-history",
    name="stage_history",
    summary="Stage history of an opportunity",
    response_model=Page[schemas.StageHistoryEntry],
    responses=problem_responses(401, 403, 404, 422),
)
async def stage_history(
    session: Session,
    principal: Annotated[Principal, require("opportunities:read")],
    record_id: uuid.UUID,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query()] = None,
):
    """Oldest first: one entry at creation and one for each change of stage, amount,
    probability or close date."""
    rows, nxt = await repository.stage_history(session, principal, record_id, limit, cursor)
    page = Page[schemas.StageHistoryEntry](
        data=[schemas.StageHistoryEntry.model_validate(x) for x in rows], next_cursor=nxt
    )
    hidden = records.hidden(principal)  # forecast_category is the vendor's, not partners'
    exclude = {"data": {"__all__": hidden}} if hidden else None
    return Response(page.model_dump_json(exclude=exclude), media_type="application/json")
