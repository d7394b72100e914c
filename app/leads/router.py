"""Leads: the standard operations from the resource machinery, and conversion."""

import uuid
from typing import Annotated

from fastapi import Response

from app.auth.principal import Principal, require
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.leads import schemas, service
from app.leads.resource import records, resource, router

__all__ = ["records", "resource", "router"]


@router.post(
    "/{record_id}/convert",
    name="convert",
    summary="Convert a lead",
    response_model=schemas.LeadConvertResult,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
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
    response.headers["ETag"] = f'"{lead.version}"'
    return schemas.LeadConvertResult(
        lead_id=lead.id,
        account_id=account_id,
        contact_id=contact_id,
        opportunity_id=opportunity_id,
        lead=schemas.Lead.model_validate(lead),
    )
