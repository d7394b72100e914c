"""Cases: the standard operations from the resource machinery, plus comments, accept, close and
reopen; queues, business hours and the routing and escalation rules."""

import uuid
from typing import Annotated

from fastapi import Query, Response

from app.auth.principal import Principal, require
from app.cases import hours, schemas, service
from app.cases.escalation import calendar
from app.cases.repository import (
    assignment_rules,
    business_hours,
    cases,
    escalation_rules,
    queues,
)
from app.inbound import schemas as inbound_schemas
from app.inbound import service as inbound_service
from app.kit import output
from app.kit.actions import Actions
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.pagination import MAX_LIMIT, Page
from app.kit.resource import OPERATIONS, build_router, etag

__all__ = ["routers"]

# Creation answers with suggested solutions too: it goes through service.create_case (the one
# creation path), in the route below.
router = build_router(cases, operations=OPERATIONS - {"create"})
queues_router = build_router(queues)
business_hours_router = build_router(business_hours)
assignment_rules_router = build_router(assignment_rules)
escalation_rules_router = build_router(escalation_rules)


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
    (created,) = await cases.dump(session, [row], cases.hidden(principal))
    found = await inbound_service.suggestions(session, principal, row.subject, row.description)
    created["suggested_solutions"] = [s.model_dump(mode="json") for s in found]
    return Response(
        output.to_json(created),
        status_code=201,
        media_type="application/json",
        headers={"ETag": etag(row.version), "Location": f"/api/v1/cases/{row.id}"},
    )


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


actions = Actions(
    router, cases, responses=problem_responses(401, 403, 404, 409, 422), response_model=schemas.Case
)

actions.add(
    "accept",
    service.accept,
    Annotated[Principal, require("cases:write")],
    "Accept a case from its queue",
    doc="""A member of the queue the case waits in becomes its owner and the case leaves the queue
    (logged in the case's history). 409 `invalid_state_transition` when the case is in no queue
    (already accepted, or never queued).""",
)


actions.add(
    "close",
    service.close,
    Annotated[Principal, require("cases:write")],
    "Close a case",
    schemas.CaseClose,
    doc="""Set a closed status (the first closed one unless given), stamping `closed_at` and
    stopping the escalation clock; optionally with a public comment. 409 when already closed.""",
)


actions.add(
    "reopen",
    service.reopen,
    Annotated[Principal, require("cases:write")],
    "Reopen a closed case",
    schemas.CaseReopen,
    doc="""Set an open status again (the default one unless given): `closed_at` is cleared and the
    escalation clock runs again from where it stopped. 409 when the case is not closed.""",
)


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
    router,
    queues_router,
    business_hours_router,
    assignment_rules_router,
    escalation_rules_router,
)
