"""Leads: the standard operations from the resource machinery, and conversion."""

import uuid
from typing import Annotated

import orjson
from fastapi import Request, Response
from sqlalchemy.exc import IntegrityError

from app.auth.principal import Principal, require
from app.kit import errors
from app.kit.db import Session
from app.kit.errors import AppError, problem_responses
from app.kit.fastpath import lean
from app.kit.resource import build_router
from app.leads import schemas, service
from app.leads.repository import records

router = build_router(records)


@router.post(
    "/{record_id}/convert",
    name="convert",
    summary="Convert a lead",
    response_model=schemas.LeadConvertResult,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
@lean
async def convert(
    session: Session,
    principal: Annotated[Principal, require("leads:convert")],
    record_id: uuid.UUID,
    body: schemas.LeadConvert,
    response: Response,
):
    """Turn a qualified lead into an account (new, or an existing one whose empty fields are
    filled), a contact (new, or an existing contact of that account) and, unless told not to, an
    opportunity, all in one transaction. Campaign memberships move to the contact; tasks, events
    and notes move to the contact and the opportunity. The lead is marked converted with links
    to what it became and is read-only from then on (a second conversion is a 409)."""
    lead, account_id, contact_id, opportunity_id = await service.convert(
        session, principal, record_id, body
    )
    result = service.convert_result(lead, account_id, contact_id, opportunity_id)
    return Response(
        result.model_dump_json(by_alias=True),
        media_type="application/json",
        headers={"ETag": f'"{lead.version}"'},
    )


@router.post(
    "/convert",
    name="convert_many",
    summary="Convert up to 100 leads",
    response_model=schemas.LeadBulkConvertResult,
    responses=problem_responses(400, 401, 403, 422),
)
async def convert_many(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("leads:convert")],
    body: schemas.LeadBulkConvert,
):
    """Convert up to 100 leads, each with the options of a single conversion plus its
    `lead_id`. Each lead is converted on its own: one that fails (a lead you cannot see is a
    404, one already converted a 409, a bad option a 422) leaves the others converted. The
    answer is 200 with one result per conversion, in order: `status` 200 and the `body` a
    single conversion answers, or the error `status` and its `problem` document."""
    results: list[schemas.LeadBulkConverted | schemas.LeadBulkConvertFailed] = []
    outcomes = await service.convert_each(session, principal, body.conversions)
    for item, outcome in zip(body.conversions, outcomes, strict=True):
        if isinstance(outcome, schemas.LeadConvertResult):
            results.append(schemas.LeadBulkConverted(lead_id=item.lead_id, body=outcome))
            continue
        if isinstance(outcome, AppError):
            response = await errors.app_error_handler(request, outcome)
        elif isinstance(outcome, IntegrityError):
            response = await errors.integrity_error_handler(request, outcome)
        else:
            response = await errors.dbapi_error_handler(request, outcome)
        if response.status_code >= 500:
            raise outcome
        results.append(
            schemas.LeadBulkConvertFailed(
                lead_id=item.lead_id,
                status=response.status_code,
                problem=orjson.loads(response.body),
            )
        )
    return schemas.LeadBulkConvertResult(results=results)
