"""MDF workflows: submitting, approving, rejecting and paying fund requests and claims.

Each transition locks its record (404 when invisible, 403 when read-only) and checks the state
machine (app/mdf/policies.py). The money rules hold under concurrency because every change of a
roll-up happens under a row lock, always taken in the order claim -> request -> budget:

- approving a request locks its budget: the approved amounts never exceed the budget;
- submitting a claim locks its request: the claims never exceed the approved amount.

CHECK constraints on the roll-ups back both rules in the database.
"""

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.auth.principal import Principal
from app.kit import clock
from app.kit.errors import Conflict, InvalidStateTransition
from app.kit.resource import invalid
from app.kit.workflow import Notice, Workflow
from app.mdf import policies, schemas
from app.mdf.repository import budgets, claims, requests
from app.models import Account, FundRequest, MdfBudget

for _label in ("fund_request", "fund_claim"):
    for _verb in ("submitted", "approved", "rejected"):
        events.declare(f"{_label}.{_verb}", f"A {_label.replace('_', ' ')} was {_verb}")
events.declare("fund_claim.paid", "A fund claim was paid")


async def _locked(session: AsyncSession, model, record_id: uuid.UUID) -> Any:
    """A row locked until the transaction ends, read fresh (after the lock)."""
    return await session.scalar(
        select(model)
        .where(model.id == record_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _live(row: Any, label: str) -> Any:
    if row is None or row.deleted_at is not None:
        raise InvalidStateTransition(f"The {label} is in the recycle bin")
    return row


async def _to_channel_manager(session: AsyncSession, row: Any, what: str) -> Notice:
    """A notice of a submission to the partner's channel manager (nobody, if it has none)."""
    account = await session.get(Account, row.partner_account_id)
    cm = account.channel_manager_id if account is not None else None
    name = account.name if account is not None else ""
    title = f"{name} submitted a {what.replace('_', ' ')}: {row.title}"
    return Notice(cm, f"{what}.submitted", title)


def _to_owner(row: Any, what: str, verb: str, reason: str | None = None) -> Notice:
    title = f"Your {what.replace('_', ' ')} '{row.title}' was {verb}"
    return Notice(row.owner_id, f"{what}.{verb}", title, reason or "")


def _payload(row: Any, data: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) for k, v in data.items() if v is not None}


request_flow = Workflow(
    requests,
    "fund_request",
    may=policies.may,
    target=lambda action, status: policies.target(
        policies.REQUEST_TRANSITIONS, action, status, "fund request"
    ),
    payload=_payload,
)
claim_flow = Workflow(
    claims,
    "fund_claim",
    may=policies.may,
    target=lambda action, status: policies.target(
        policies.CLAIM_TRANSITIONS, action, status, "fund claim"
    ),
    payload=_payload,
)


# --- fund requests -----------------------------------------------------------------------------


async def submit_request(session: AsyncSession, principal: Principal, record_id: uuid.UUID):
    """A draft goes to the vendor for a decision; the partner's channel manager is notified.
    It can no longer be changed."""
    row, to = await request_flow.lock(session, principal, record_id, "submit")
    notice = await _to_channel_manager(session, row, "fund_request")
    return await request_flow.step(
        session,
        principal,
        row,
        {"status": to, "submitted_at": clock.now()},
        "submitted",
        {"amount": row.requested_amount},
        [notice],
    )


async def approve_request(
    session: AsyncSession,
    principal: Principal,
    record_id: uuid.UUID,
    body: schemas.FundRequestApprove,
):
    """The vendor approves a submitted request, for the requested amount or less
    (`approved_amount`). The budget's approved requests never exceed its amount: an approval
    that would is a 409 `budget_exceeded` naming what is left. Partners cannot approve (403)."""
    row, to = await request_flow.lock(session, principal, record_id, "approve")
    amount = body.approved_amount if body.approved_amount is not None else row.requested_amount
    if amount > row.requested_amount:
        raise invalid(
            "approved_amount",
            "exceeds_requested",
            f"The approved amount cannot exceed the requested {row.requested_amount}",
        )
    # The budget's lock makes concurrent approvals against it take turns.
    budget: MdfBudget = _live(await _locked(session, MdfBudget, row.budget_id), "MDF budget")
    remaining = budget.amount - budget.approved_amount
    if amount > remaining:
        raise Conflict(
            f"The budget has {remaining} left to approve; {amount} was asked",
            code="budget_exceeded",
            extra={"remaining_amount": str(remaining)},
        )
    await budgets.change(
        session, principal, budget, {"approved_amount": budget.approved_amount + amount}
    )
    return await request_flow.step(
        session,
        principal,
        row,
        {
            "status": to,
            "approved_amount": amount,
            "decided_at": clock.now(),
            "decided_by": principal.user_id,
        },
        "approved",
        {"amount": amount},
        [_to_owner(row, "fund_request", "approved")],
    )


def _rejection(principal: Principal, to: str, body: schemas.Rejection) -> dict[str, Any]:
    """The changes of a rejection, of a request or a claim: its status, why, when and by whom."""
    return {
        "status": to,
        "rejection_reason": body.reason,
        "decided_at": clock.now(),
        "decided_by": principal.user_id,
    }


async def reject_request(
    session: AsyncSession, principal: Principal, record_id: uuid.UUID, body: schemas.Rejection
):
    """The vendor rejects a submitted request with a reason, which the requester is told."""
    row, to = await request_flow.lock(session, principal, record_id, "reject")
    return await request_flow.step(
        session,
        principal,
        row,
        _rejection(principal, to, body),
        "rejected",
        notices=[_to_owner(row, "fund_request", "rejected", body.reason)],
    )


# --- fund claims ---------------------------------------------------------------------------


async def _claim_step(session, principal: Principal, record_id: uuid.UUID, action: str):
    row, to = await claim_flow.lock(session, principal, record_id, action)
    request: FundRequest = _live(
        await _locked(session, FundRequest, row.request_id), "fund request"
    )
    return row, to, request


async def submit_claim(session: AsyncSession, principal: Principal, record_id: uuid.UUID):
    """A draft claim with its proof of performance goes to the vendor. Its amount is then
    reserved on the request: the claims of a request never exceed its approved amount (409
    `request_amount_exceeded` otherwise)."""
    row, to, request = await _claim_step(session, principal, record_id, "submit")
    if not row.proof_of_performance:
        raise invalid(
            "proof_of_performance", "required", "Attach proof of performance before submitting"
        )
    approved = request.approved_amount or Decimal("0")
    left = approved - request.claimed_amount
    if row.amount > left:
        raise Conflict(
            f"The request has {left} left to claim; the claim is for {row.amount}",
            code="request_amount_exceeded",
            extra={"remaining_amount": str(left)},
        )
    await requests.change(
        session, principal, request, {"claimed_amount": request.claimed_amount + row.amount}
    )
    notice = await _to_channel_manager(session, row, "fund_claim")
    return await claim_flow.step(
        session,
        principal,
        row,
        {"status": to, "submitted_at": clock.now()},
        "submitted",
        {"amount": row.amount},
        [notice],
    )


async def approve_claim(session: AsyncSession, principal: Principal, record_id: uuid.UUID):
    """The vendor accepts the proof of performance of a submitted claim."""
    row, to, _ = await _claim_step(session, principal, record_id, "approve")
    now = clock.now()
    return await claim_flow.step(
        session,
        principal,
        row,
        {"status": to, "decided_at": now, "decided_by": principal.user_id},
        "approved",
        {"amount": row.amount},
        [_to_owner(row, "fund_claim", "approved")],
    )


async def reject_claim(
    session: AsyncSession, principal: Principal, record_id: uuid.UUID, body: schemas.Rejection
):
    """The vendor rejects a submitted claim with a reason; its amount can be claimed again."""
    row, to, request = await _claim_step(session, principal, record_id, "reject")
    # A rejected claim gives its amount back to the request.
    await requests.change(
        session, principal, request, {"claimed_amount": request.claimed_amount - row.amount}
    )
    return await claim_flow.step(
        session,
        principal,
        row,
        _rejection(principal, to, body),
        "rejected",
        notices=[_to_owner(row, "fund_claim", "rejected", body.reason)],
    )


async def pay_claim(
    session: AsyncSession, principal: Principal, record_id: uuid.UUID, body: schemas.FundClaimPay
):
    """The vendor records the payment of an approved claim (optionally with its reference)."""
    row, to, request = await _claim_step(session, principal, record_id, "pay")
    await requests.change(
        session, principal, request, {"paid_amount": request.paid_amount + row.amount}
    )
    return await claim_flow.step(
        session,
        principal,
        row,
        {"status": to, "paid_at": clock.now(), "payment_reference": body.payment_reference},
        "paid",
        {"amount": row.amount},
        [_to_owner(row, "fund_claim", "paid")],
    )
