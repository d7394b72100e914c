"""Deal registrations over HTTP: the standard operations from the resource machinery
(app/deals/resource.py: list, get, create a draft, patch, delete, restore, history) plus one
endpoint per workflow transition and the conflict check."""

import uuid
from typing import Annotated

from fastapi import Request, Response

import app.deals.kpis  # noqa: F401  (registers its scorecard KPIs)
from app.auth.principal import Principal, require
from app.deals import schemas, service
from app.deals.resource import records, resource, router
from app.kit.db import Session
from app.kit.errors import problem_responses

__all__ = ["records", "resource", "router"]

Partner = Annotated[Principal, require("deals:register")]
Approver = Annotated[Principal, require("deals:approve")]
ERRORS = problem_responses(401, 403, 404, 409, 422)


# Creating goes through the service (a partner's registration is submitted as it is made):
# the machinery's create route makes way for the one below.
router.routes[:] = [
    r for r in router.routes if not (r.path == resource.url and "POST" in r.methods)
]


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
    response = await _out(session, principal, row, Response())
    response.status_code = 201
    response.headers["Location"] = f"{resource.url}/{row.id}"
    return response


async def _out(session, principal: Principal, row, response: Response) -> Response:
    (body,) = await records.present(session, [row])
    return Response(
        body.model_dump_json(by_alias=True, exclude=records.hidden(principal) or None),
        media_type="application/json",
        headers={"ETag": f'"{row.version}"'},
    )


@router.post(
    "/{record_id}/submit",
    name="submit",
    summary="Submit a deal registration",
    response_model=schemas.DealRegistration,
    responses=ERRORS,
)
async def submit(
    request: Request, session: Session, principal: Partner, record_id: uuid.UUID, response: Response
):
    """Register a draft with the vendor (a registration submitted already is returned as it
    is, so a retried call does no harm). Conflicts (registrations submitted before it and open
    opportunities for the same customer and product) are looked for and flagged
    (`has_conflicts`); the partner user gets an auto-response email promising an answer within
    48 hours and the partner's channel manager is notified. Of two registrations of the same
    deal submitted at the same moment, the first is clean and the second is flagged."""
    row = await service.submit(session, principal, request.app.state.settings, record_id)
    return await _out(session, principal, row, response)


@router.post(
    "/{record_id}/resubmit",
    name="resubmit",
    summary="Resubmit a rejected or expired deal registration",
    response_model=schemas.DealRegistration,
    responses=ERRORS,
)
async def resubmit(
    request: Request,
    session: Session,
    principal: Partner,
    record_id: uuid.UUID,
    response: Response,
    body: schemas.DealRegistrationResubmit | None = None,
):
    """Send a rejected (or expired) registration back to the vendor, with more information in
    the body (any field of the registration). Conflicts are checked again, as on submit."""
    body = body or schemas.DealRegistrationResubmit()
    row = await service.resubmit(session, principal, request.app.state.settings, record_id, body)
    return await _out(session, principal, row, response)


@router.post(
    "/{record_id}/approve",
    name="approve",
    summary="Approve a deal registration",
    response_model=schemas.DealRegistration,
    responses=ERRORS,
)
async def approve(
    session: Session,
    principal: Approver,
    record_id: uuid.UUID,
    response: Response,
    body: schemas.DealRegistrationApprove | None = None,
):
    """The channel manager approves a submitted registration: sets the protection time frame
    (`protection_days` or `protection_seconds`; default the requested time frame, else 90
    days), links an existing opportunity or creates one, owned by the registering partner user
    and shared with the partner, and sets the margin credit. The registration expires when the
    time frame ends unless it is closed or extended first. Of two concurrent decisions one
    acts; the other is a 409."""
    body = body or schemas.DealRegistrationApprove()
    row = await service.approve(session, principal, record_id, body)
    return await _out(session, principal, row, response)


@router.post(
    "/{record_id}/reject",
    name="reject",
    summary="Reject a deal registration",
    response_model=schemas.DealRegistration,
    responses=ERRORS,
)
async def reject(
    session: Session,
    principal: Approver,
    record_id: uuid.UUID,
    body: schemas.DealRegistrationReject,
    response: Response,
):
    """The channel manager rejects a submitted registration with an explanation (`reason`),
    e.g. the deal already exists or the information is incomplete. The partner may resubmit."""
    row = await service.reject(session, principal, record_id, body)
    return await _out(session, principal, row, response)


@router.post(
    "/{record_id}/request-extension",
    name="request_extension",
    summary="Ask for a longer protection time frame",
    response_model=schemas.DealRegistration,
    responses=ERRORS,
)
async def request_extension(
    session: Session,
    principal: Partner,
    record_id: uuid.UUID,
    response: Response,
    body: schemas.DealExtensionRequest | None = None,
):
    """The partner asks to extend an approved (or expired) registration, optionally by how long
    and why. It stays protected until the channel manager decides."""
    body = body or schemas.DealExtensionRequest()
    row = await service.request_extension(session, principal, record_id, body)
    return await _out(session, principal, row, response)


@router.post(
    "/{record_id}/grant-extension",
    name="grant_extension",
    summary="Extend a deal registration's time frame",
    response_model=schemas.DealRegistration,
    responses=ERRORS,
)
async def grant_extension(
    session: Session,
    principal: Approver,
    record_id: uuid.UUID,
    response: Response,
    body: schemas.DealExtensionGrant | None = None,
):
    """The time frame moves on by the extension (given, else requested, else 30 days), from
    its end or from now if it has already ended."""
    body = body or schemas.DealExtensionGrant()
    row = await service.grant_extension(session, principal, record_id, body)
    return await _out(session, principal, row, response)


@router.post(
    "/{record_id}/deny-extension",
    name="deny_extension",
    summary="Deny an extension",
    response_model=schemas.DealRegistration,
    responses=ERRORS,
)
async def deny_extension(
    session: Session,
    principal: Approver,
    record_id: uuid.UUID,
    body: schemas.DealExtensionDeny,
    response: Response,
):
    """The registration goes back to approved until its time frame ends, or is expired at once
    if it already has."""
    row = await service.deny_extension(session, principal, record_id, body)
    return await _out(session, principal, row, response)


@router.post(
    "/{record_id}/close",
    name="close",
    summary="Close a deal registration as won or lost",
    response_model=schemas.DealRegistration,
    responses=ERRORS,
)
async def close(
    session: Session,
    principal: Partner,
    record_id: uuid.UUID,
    body: schemas.DealRegistrationClose,
    response: Response,
):
    """Won needs `proof_of_performance` (a reference or a list of documents) and records the
    partner's `margin_credit` (amount won x the margin percent set on approval); the linked
    opportunity is closed too."""
    row = await service.close(session, principal, record_id, body)
    return await _out(session, principal, row, response)


@router.post(
    "/{record_id}/withdraw",
    name="withdraw",
    summary="Withdraw a deal registration",
    response_model=schemas.DealRegistration,
    responses=ERRORS,
)
async def withdraw(
    session: Session,
    principal: Partner,
    record_id: uuid.UUID,
    response: Response,
    body: schemas.DealRegistrationWithdraw | None = None,
):
    """The partner gives up a registration that is not closed. It cannot be reopened."""
    body = body or schemas.DealRegistrationWithdraw()
    row = await service.withdraw(session, principal, record_id, body)
    return await _out(session, principal, row, response)


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
