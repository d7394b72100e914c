"""MDF over HTTP: the standard operations of budgets, fund requests and fund claims (from the
resource machinery, app/mdf/repository.py) plus the workflow transitions, one endpoint each."""

from typing import Annotated

from app.auth.principal import Principal, require
from app.kit.actions import Actions
from app.kit.errors import problem_responses
from app.kit.resource import build_router
from app.mdf import schemas, service
from app.mdf.repository import budgets, claims, requests

__all__ = ["budgets_router", "claims_router", "requests_router"]

budgets_router = build_router(budgets)
requests_router = build_router(requests)
claims_router = build_router(claims)

Writer = Annotated[Principal, require("mdf:write")]
ERRORS = problem_responses(401, 403, 404, 409, 422)


# --- fund requests -----------------------------------------------------------------------------


request_actions = Actions(
    requests_router, requests, responses=ERRORS, response_model=schemas.FundRequest
)
claim_actions = Actions(claims_router, claims, responses=ERRORS, response_model=schemas.FundClaim)

request_actions.add("submit", service.submit_request, Writer, "Submit a fund request")


request_actions.add(
    "approve",
    service.approve_request,
    Writer,
    "Approve a fund request",
    schemas.FundRequestApprove | None,
)


request_actions.add(
    "reject", service.reject_request, Writer, "Reject a fund request", schemas.Rejection
)


# --- fund claims ---------------------------------------------------------------------------


claim_actions.add("submit", service.submit_claim, Writer, "Submit a fund claim")


claim_actions.add("approve", service.approve_claim, Writer, "Approve a fund claim")


claim_actions.add("reject", service.reject_claim, Writer, "Reject a fund claim", schemas.Rejection)


claim_actions.add(
    "pay", service.pay_claim, Writer, "Mark a fund claim paid", schemas.FundClaimPay | None
)
