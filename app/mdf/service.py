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
from app.mdf import policies, schemas
from app.mdf.resource import budgets, claims, requests
from app.models import Account, FundClaim, FundRequest, MdfBudget
from app.notifications.service import notify

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


async def _tell_channel_manager(
    session: AsyncSession, partner_account_id: uuid.UUID, what: str, row: Any, url: str
) -> None:
    account = await session.get(Account, partner_account_id)
    if account is not None and account.channel_manager_id is not None:
        await notify(
            session,
            account.channel_manager_id,
            kind=f"{what}.submitted",
            title=f"{account.name} submitted a {what.replace('_', ' ')}: {row.title}",
            link=f"{url}/{row.id}",
            object_type=f"{what}s",
            record_id=row.id,
        )


async def _tell_owner(session: AsyncSession, row: Any, what: str, verb: str, url: str) -> None:
    await notify(
        session,
        row.owner_id,
        kind=f"{what}.{verb}",
        title=f"Your {what.replace('_', ' ')} '{row.title}' was {verb}",
        body=row.rejection_reason or "",
        link=f"{url}/{row.id}",
        object_type=f"{what}s",
        record_id=row.id,
    )


async def _emit(session, principal, what: str, verb: str, row: Any, **data: Any) -> None:
    await events.emit(
        session,
        f"{what}.{verb}",
        f"{what}s",
        row.id,
        {k: str(v) for k, v in data.items() if v is not None},
        actor_id=principal.user_id,
    )


# --- fund requests -----------------------------------------------------------------------------


async def _request_step(session, principal: Principal, record_id: uuid.UUID, action: str):
    policies.may(principal, action)
    row: FundRequest = await requests.lock_for_write(session, principal, record_id)
    to = policies.target(policies.REQUEST_TRANSITIONS, action, row.status, "fund request")
    return row, to


async def submit_request(session: AsyncSession, principal: Principal, record_id: uuid.UUID):
    row, to = await _request_step(session, principal, record_id, "submit")
    await requests.change(session, principal, row, {"status": to, "submitted_at": clock.now()})
    await _emit(session, principal, "fund_request", "submitted", row, amount=row.requested_amount)
    await _tell_channel_manager(
        session, row.partner_account_id, "fund_request", row, requests.r.url
    )
    return row


async def approve_request(
    session: AsyncSession,
    principal: Principal,
    record_id: uuid.UUID,
    body: schemas.FundRequestApprove,
):
    row, to = await _request_step(session, principal, record_id, "approve")
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
    await requests.change(
        session,
        principal,
        row,
        {
            "status": to,
            "approved_amount": amount,
            "decided_at": clock.now(),
            "decided_by": principal.user_id,
        },
    )
    await _emit(session, principal, "fund_request", "approved", row, amount=amount)
    await _tell_owner(session, row, "fund_request", "approved", requests.r.url)
    return row


async def reject_request(
    session: AsyncSession, principal: Principal, record_id: uuid.UUID, body: schemas.Rejection
):
    row, to = await _request_step(session, principal, record_id, "reject")
    await requests.change(
        session,
        principal,
        row,
        {
            "status": to,
            "rejection_reason": body.reason,
            "decided_at": clock.now(),
            "decided_by": principal.user_id,
        },
    )
    await _emit(session, principal, "fund_request", "rejected", row)
    await _tell_owner(session, row, "fund_request", "rejected", requests.r.url)
    return row


# --- fund claims ---------------------------------------------------------------------------


async def _claim_step(session, principal: Principal, record_id: uuid.UUID, action: str):
    policies.may(principal, action)
    row: FundClaim = await claims.lock_for_write(session, principal, record_id)
    to = policies.target(policies.CLAIM_TRANSITIONS, action, row.status, "fund claim")
    request: FundRequest = _live(
        await _locked(session, FundRequest, row.request_id), "fund request"
    )
    return row, to, request


async def submit_claim(session: AsyncSession, principal: Principal, record_id: uuid.UUID):
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
    await claims.change(session, principal, row, {"status": to, "submitted_at": clock.now()})
    await _emit(session, principal, "fund_claim", "submitted", row, amount=row.amount)
    await _tell_channel_manager(session, row.partner_account_id, "fund_claim", row, claims.r.url)
    return row


async def approve_claim(session: AsyncSession, principal: Principal, record_id: uuid.UUID):
    row, to, _ = await _claim_step(session, principal, record_id, "approve")
    now = clock.now()
    await claims.change(
        session, principal, row, {"status": to, "decided_at": now, "decided_by": principal.user_id}
    )
    await _emit(session, principal, "fund_claim", "approved", row, amount=row.amount)
    await _tell_owner(session, row, "fund_claim", "approved", claims.r.url)
    return row


async def reject_claim(
    session: AsyncSession, principal: Principal, record_id: uuid.UUID, body: schemas.Rejection
):
    row, to, request = await _claim_step(session, principal, record_id, "reject")
    # A rejected claim gives its amount back to the request.
    await requests.change(
        session, principal, request, {"claimed_amount": request.claimed_amount - row.amount}
    )
    await claims.change(
        session,
        principal,
        row,
        {
            "status": to,
            "rejection_reason": body.reason,
            "decided_at": clock.now(),
            "decided_by": principal.user_id,
        },
    )
    await _emit(session, principal, "fund_claim", "rejected", row)
    await _tell_owner(session, row, "fund_claim", "rejected", claims.r.url)
    return row


async def pay_claim(
    session: AsyncSession, principal: Principal, record_id: uuid.UUID, body: schemas.FundClaimPay
):
    row, to, request = await _claim_step(session, principal, record_id, "pay")
    await requests.change(
        session, principal, request, {"paid_amount": request.paid_amount + row.amount}
    )
    await claims.change(
        session,
        principal,
        row,
        {"status": to, "paid_at": clock.now(), "payment_reference": body.payment_reference},
    )
    await _emit(session, principal, "fund_claim", "paid", row, amount=row.amount)
    await _tell_owner(session, row, "fund_claim", "paid", claims.r.url)
    return row
