"""The recycle bin across objects: list it, purge a record now, purge what has expired.

Restoring is each object's own ``POST /api/v1/<object>/{id}/restore``.
"""

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from app.auth.principal import CurrentPrincipal, Principal, require
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.pagination import Page, PageParams, page_params
from app.kit.routing import Router
from app.recyclebin import schemas, service

router = Router(prefix="/api/v1/recycle-bin", tags=["recycle_bin"])


def _result(counts: dict[str, int]) -> schemas.PurgeResult:
    return schemas.PurgeResult(purged=counts, total=sum(counts.values()))


@router.get(
    "",
    name="list",
    summary="List the recycle bin",
    response_model=Page[schemas.RecycleBinEntry],
    responses=problem_responses(400, 401, 422),
)
async def list_recycle_bin(
    session: Session,
    principal: CurrentPrincipal,
    paging: Annotated[PageParams, Depends(page_params)],
    object: Annotated[
        str | None, Query(max_length=60, description="Only this object type: `accounts`")
    ] = None,
    mine: Annotated[bool, Query(description="Only records the caller deleted")] = False,
):
    """Deleted records the caller may read (of objects whose `<object>:read` scope the token
    holds), newest deletion first. Records deleted together with another one (an account's
    contacts and opportunities) are not listed: restoring that record brings them back.
    Records stay here `recycle_bin_retention_days` (15 by default), then are purged."""
    rows, cursor = await service.list_deleted(
        session, principal, paging, object_type=object, mine=mine
    )
    return {"data": rows, "next_cursor": cursor}


@router.post(
    "/purge",
    name="purge_expired",
    summary="Purge expired records now",
    response_model=schemas.PurgeResult,
    responses=problem_responses(401, 403),
)
async def purge_expired(
    request: Request, session: Session, principal: Annotated[Principal, require("admin")]
):
    """Permanently delete every record that has been in the recycle bin longer than the
    retention period, with its field history. The service also does this by itself every
    hour; each purged record gets a `purge` entry in the change feed."""
    settings = request.app.state.settings
    counts = await service.purge_expired(
        session,
        retention=timedelta(days=settings.recycle_bin_retention_days),
        batch_size=settings.recycle_bin_purge_batch_size,
        by=principal.user_id,
    )
    return _result(counts)


@router.delete(
    "/{object}/{record_id}",
    name="purge",
    summary="Purge a deleted record now",
    response_model=schemas.PurgeResult,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def purge(
    request: Request,
    session: Session,
    principal: CurrentPrincipal,
    object: Annotated[str, Path(max_length=60, description="The object type: `accounts`")],
    record_id: uuid.UUID,
):
    """Permanently delete a record in the recycle bin, with the records deleted with it, now.
    Needs the object's `<object>:write` scope and the right to change the record (its owner,
    the roles above, or an administrator). A record deleted with another one is purged or
    restored with that one (409), and a record others still refer to stays (409)."""
    counts = await service.purge_one(
        session,
        principal,
        object,
        record_id,
        batch_size=request.app.state.settings.recycle_bin_purge_batch_size,
    )
    return _result(counts)


__all__ = ["router"]
