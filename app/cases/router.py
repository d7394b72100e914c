"""Cases: the standard operations from the resource machinery, plus comments, accept, close and
reopen; queues, business hours and the routing and escalation rules."""

import uuid
from typing import Annotated

from fastapi import Query, Response

from app.auth.principal import Principal, require
from app.cases import hours, schemas, service
from app.cases.escalation import calendar
from app.cases.resource import (
    assignment_rules_router,
    business_hours,
    business_hours_router,
    cases,
    cases_router,
    escalation_rules_router,
    queues_router,
)
from app.inbound import schemas as inbound_schemas
from app.inbound import service as inbound_service
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.pagination import MAX_LIMIT, Page

router = cases_router

__all__ = ["routers"]

# Creation answers with suggested solutions too: the machinery's create is replaced by one that
# goes through service.create_case (the one creation path) and adds them.
router.routes[:] = [
    r
    for r in router.routes
    if not (getattr(r, "name", None) == "create" and r.path == router.prefix)
]


@router.post(
    "",
    name="create",
    summary="Create a case",
    status_code=201,
    response_model=inbound_schemas.CaseCreated,
    responses=problem_responses(400, 401, 403, 409, 422),
)
async def create(
    session: Session,
    principal: Annotated[Principal, require("cases:write")],
    body: schemas.CaseCreate,
):
    """The active assignment rule routes the case (and may send the auto-response) and the
    escalation clock starts. The answer lists `suggested_solutions`: published solutions that
    may answer it (from its subject and description), best first."""
    row = await service.create_case(session, principal, body)
    (out,) = await cases.present(session, [row])
    created = inbound_schemas.CaseCreated(
        **out.model_dump(),
        suggested_solutions=await inbound_service.suggestions(
            session, principal, row.subject, row.description
        ),
    )
    return Response(
        created.model_dump_json(by_alias=True, exclude=cases.hidden(principal) or None),
        status_code=201,
        media_type="application/json",
        headers={"ETag": f'"{row.version}"', "Location": f"/api/v1/cases/{row.id}"},
    )


async def _case(session, row, response: Response) -> schemas.Case:
    (out,) = await cases.present(session, [row])
    response.headers["ETag"] = f'"{row.version}"'
    return out


@router.get(
    "/{record_id}/comments",
    name="list_comments",
    summary="List a case's comments",
    response_model=Page[schemas.Comment],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_comments(
    session: Session,
    principal: Annotated[Principal, require("cases:read")],
    record_id: uuid.UUID,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query()] = None,
):
    """Oldest first. Partners and customers see public comments only."""
    rows, nxt = await service.list_comments(session, principal, record_id, limit, cursor)
    return {"data": [schemas.Comment.model_validate(r) for r in rows], "next_cursor": nxt}


@router.post(
    "/{record_id}/comments",
    name="add_comment",
    summary="Comment on a case",
    status_code=201,
    response_model=schemas.Comment,
    responses=problem_responses(401, 403, 404, 422),
)
async def add_comment(
    session: Session,
    principal: Annotated[Principal, require("cases:write")],
    record_id: uuid.UUID,
    body: schemas.CommentCreate,
):
    """Anyone who can read the case may comment. Internal comments (`is_public: false`) are for
    the vendor's users only. The first public comment by an agent is the case's first response
    (`first_response_at`), which stops the first-response escalation timer."""
    return schemas.Comment.model_validate(
        await service.add_comment(session, principal, record_id, body)
    )


@router.post(
    "/{record_id}/accept",
    name="accept",
    summary="Accept a case from its queue",
    response_model=schemas.Case,
    responses=problem_responses(401, 403, 404, 409),
)
async def accept(
    session: Session,
    principal: Annotated[Principal, require("cases:write")],
    record_id: uuid.UUID,
    response: Response,
):
    """A member of the queue the case waits in becomes its owner and the case leaves the queue
    (logged in the case's history). 409 `invalid_state_transition` when the case is in no queue
    (already accepted, or never queued)."""
    return await _case(session, await service.accept(session, principal, record_id), response)


@router.post(
    "/{record_id}/close",
    name="close",
    summary="Close a case",
    response_model=schemas.Case,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def close(
    session: Session,
    principal: Annotated[Principal, require("cases:write")],
    record_id: uuid.UUID,
    body: schemas.CaseClose,
    response: Response,
):
    """Set a closed status (the first closed one unless given), stamping `closed_at` and
    stopping the escalation clock; optionally with a public comment. 409 when already closed."""
    row = await service.close(session, principal, record_id, body)
    return await _case(session, row, response)


@router.post(
    "/{record_id}/reopen",
    name="reopen",
    summary="Reopen a closed case",
    response_model=schemas.Case,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def reopen(
    session: Session,
    principal: Annotated[Principal, require("cases:write")],
    record_id: uuid.UUID,
    body: schemas.CaseReopen,
    response: Response,
):
    """Set an open status again (the default one unless given): `closed_at` is cleared and the
    escalation clock runs again from where it stopped. 409 when the case is not closed."""
    row = await service.reopen(session, principal, record_id, body)
    return await _case(session, row, response)


@business_hours_router.post(
    "/{record_id}/add",
    name="add_time",
    summary="Add business time to an instant",
    response_model=schemas.BusinessTimeResult,
    responses=problem_responses(401, 403, 404, 422),
)
async def add_time(
    session: Session,
    principal: Annotated[Principal, require("cases:read")],
    record_id: uuid.UUID,
    body: schemas.BusinessTime,
):
    """When `seconds` of these business hours have passed after `start` (how escalation due
    times are computed): nights, closed days and holidays are skipped."""
    await business_hours.read(session, principal, record_id)
    cal = await calendar(session, record_id)
    return schemas.BusinessTimeResult(due_at=hours.add(cal, body.start, body.seconds))


routers = (
    cases_router,
    queues_router,
    business_hours_router,
    assignment_rules_router,
    escalation_rules_router,
)
