"""MDF over HTTP: the standard operations of budgets, fund requests and fund claims (from the
resource machinery, app/mdf/resource.py) plus the workflow transitions, one endpoint each."""

import uuid
from typing import Annotated

from fastapi import Response

from app.auth.principal import Principal, require
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.resource import Records
from app.mdf import schemas, service
from app.mdf.resource import (
    budgets_router,
    claims,
    claims_router,
    requests,
    requests_router,
)

__all__ = ["budgets_router", "claims_router", "requests_router"]

Writer = Annotated[Principal, require("mdf:write")]
ERRORS = problem_responses(401, 403, 404, 409, 422)


async def _out(session, records: Records, row, response: Response):
    (body,) = await records.present(session, [row])
    response.headers["ETag"] = f'"{row.version}"'
    return body


# --- fund requests -----------------------------------------------------------------------------


@requests_router.post(
    "/{record_id}/submit",
    name="submit",
    summary="Submit a fund request",
    response_model=schemas.FundRequest,
    responses=ERRORS,
)
async def submit_request(
    session: Session, principal: Writer, record_id: uuid.UUID, response: Response
):
    """A draft goes to the vendor for a decision; the partner's channel manager is notified.
    It can no longer be changed."""
    row = await service.submit_request(session, principal, record_id)
    return await _out(session, requests, row, response)


@requests_router.post(
    "/{record_id}/approve",
    name="approve",
    summary="Approve a fund request",
    response_model=schemas.FundRequest,
    responses=ERRORS,
)
async def approve_request(
    session: Session,
    principal: Writer,
    record_id: uuid.UUID,
    response: Response,
    body: schemas.FundRequestApprove | None = None,
):
    """The vendor approves a submitted request, for the requested amount or less
    (`approved_amount`). The budget's approved requests never exceed its amount: an approval
    that would is a 409 `budget_exceeded` naming what is left. Partners cannot approve (403)."""
    body = body or schemas.FundRequestApprove()
    row = await service.approve_request(session, principal, record_id, body)
    return await _out(session, requests, row, response)


@requests_router.post(
    "/{record_id}/reject",
    name="reject",
    summary="Reject a fund request",
    response_model=schemas.FundRequest,
    responses=ERRORS,
)
async def reject_request(
    session: Session,
    principal: Writer,
    record_id: uuid.UUID,
    body: schemas.Rejection,
    response: Response,
):
    """The vendor rejects a submitted request with a reason, which the requester is told."""
    row = await service.reject_request(session, principal, record_id, body)
    return await _out(session, requests, row, response)


# --- fund claims ---------------------------------------------------------------------------


@claims_router.post(
    "/{record_id}/submit",
    name="submit",
    summary="Submit a fund claim",
    response_model=schemas.FundClaim,
    responses=ERRORS,
)
async def submit_claim(
    session: Session, principal: Writer, record_id: uuid.UUID, response: Response
):
    """A draft claim with its proof of performance goes to the vendor. Its amount is then
    reserved on the request: the claims of a request never exceed its approved amount (409
    `request_amount_exceeded` otherwise)."""
    row = await service.submit_claim(session, principal, record_id)
    return await _out(session, claims, row, response)


@claims_router.post(
    "/{record_id}/approve",
    name="approve",
    summary="Approve a fund claim",
    response_model=schemas.FundClaim,
    responses=ERRORS,
)
async def approve_claim(
    session: Session, principal: Writer, record_id: uuid.UUID, response: Response
):
    """The vendor accepts the proof of performance of a submitted claim."""
    row = await service.approve_claim(session, principal, record_id)
    return await _out(session, claims, row, response)


@claims_router.post(
    "/{record_id}/reject",
    name="reject",
    summary="Reject a fund claim",
    response_model=schemas.FundClaim,
    responses=ERRORS,
)
async def reject_claim(
    session: Session,
    principal: Writer,
    record_id: uuid.UUID,
    body: schemas.Rejection,
    response: Response,
):
    """The vendor rejects a submitted claim with a reason; its amount can be claimed again."""
    row = await service.reject_claim(session, principal, record_id, body)
    return await _out(session, claims, row, response)


@claims_router.post(
    "/{record_id}/pay",
    name="pay",
    summary="Mark a fund claim paid",
    response_model=schemas.FundClaim,
    responses=ERRORS,
)
async def pay_claim(
    session: Session,
    principal: Writer,
    record_id: uuid.UUID,
    response: Response,
    body: schemas.FundClaimPay | None = None,
):
    """The vendor records the payment of an approved claim (optionally with its reference)."""
    row = await service.pay_claim(session, principal, record_id, body or schemas.FundClaimPay())
    return await _out(session, claims, row, response)
