"""Deal registrations over HTTP: the standard operations from the resource machinery
(app/deals/repository.py: list, get, patch, delete, restore, history), a create that registers
(and submits) through the service, one action per workflow transition, and the conflict check."""

import uuid
from typing import Annotated

from fastapi import Request

import app.deals.kpis  # noqa: F401  (registers its scorecard KPIs)
from app.auth.principal import Principal, require
from app.deals import schemas, service
from app.deals.repository import records, resource
from app.kit.actions import Actions
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.resource import OPERATIONS, build_router

__all__ = ["router"]

Partner = Annotated[Principal, require("deals:register")]
Approver = Annotated[Principal, require("deals:approve")]
ERRORS = problem_responses(401, 403, 404, 409, 422)


# Creating goes through the service (a partner's registration is submitted as it is made).
router = build_router(records, operations=OPERATIONS - {"create"})


@router.post(
    "",
    name="create",
    summary="Register a deal",
    status_code=201,
    response_model=schemas.DealRegistration,
    responses=problem_responses(400, 401, 403, 409, 422),
)
async def create(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("deals:write")],
    body: resource.create,  # type: ignore[valid-type]
):
    """A partner registers a deal: customer, contact, product of interest, estimated amount,
    expected close, the time frame it asks for, notes. It is submitted at once (as
    `POST .../{id}/submit` does: conflicts flagged, auto-response email, channel manager
    notified) unless `draft` is true. The registration belongs to the caller's partner
    account; internal users may register for a partner by making one of its users the
    `owner_id`."""
    row = await service.create(session, principal, request.app.state.settings, body)
    headers = {"Location": f"{resource.url}/{row.id}"}
    return await records.respond(session, principal, row, 201, headers)


actions = Actions(router, records, responses=ERRORS, response_model=schemas.DealRegistration)

actions.add("submit", service.submit, Partner, "Submit a deal registration", settings=True)


actions.add(
    "resubmit",
    service.resubmit,
    Partner,
    "Resubmit a rejected or expired deal registration",
    schemas.DealRegistrationResubmit | None,
    settings=True,
)


actions.add(
    "approve",
    service.approve,
    Approver,
    "Approve a deal registration",
    schemas.DealRegistrationApprove | None,
)


actions.add(
    "reject", service.reject, Approver, "Reject a deal registration", schemas.DealRegistrationReject
)


actions.add(
    "request_extension",
    service.request_extension,
    Partner,
    "Ask for a longer protection time frame",
    schemas.DealExtensionRequest | None,
)


actions.add(
    "grant_extension",
    service.grant_extension,
    Approver,
    "Extend a deal registration's time frame",
    schemas.DealExtensionGrant | None,
)


actions.add(
    "deny_extension",
    service.deny_extension,
    Approver,
    "Deny an extension",
    schemas.DealExtensionDeny,
)


actions.add(
    "close",
    service.close,
    Partner,
    "Close a deal registration as won or lost",
    schemas.DealRegistrationClose,
)


actions.add(
    "withdraw",
    service.withdraw,
    Partner,
    "Withdraw a deal registration",
    schemas.DealRegistrationWithdraw | None,
)


@router.get(
    "/{record_id}/conflicts",
    name="conflicts",
    summary="Conflicting registrations and opportunities",
    response_model=schemas.DealConflicts,
    responses=problem_responses(401, 403, 404, 422),
)
async def conflicts(
    session: Session,
    principal: Annotated[Principal, require("deals:read")],
    record_id: uuid.UUID,
):
    """Registrations that hold or claim a deal (submitted, approved, extension requested) and
    open opportunities for the same customer (a similar company name, normalized, or the same
    email domain), as of now, each saying whether the product is the same. The vendor's
    channel managers (scope `deals:approve`) see them all; anyone else only records they may
    read."""
    found = await service.visible_conflicts(session, principal, record_id)
    return schemas.DealConflicts(data=found)
