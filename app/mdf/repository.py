"""The MDF objects on the resource machinery: `/api/v1/mdf/budgets`, `/api/v1/mdf/requests`,
`/api/v1/mdf/claims` (list, get, create, patch, delete, restore, history). Workflow transitions
are in router.py / service.py."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing, is_partner
from app.auth.principal import Principal
from app.campaigns.repository import campaigns
from app.kit.errors import Forbidden
from app.kit.resource import Records, Resource, invalid
from app.mdf import policies, schemas
from app.models import MdfBudget
from app.models.mdf import FundClaim, FundRequest, FundRequestStatus


def _period(values: dict[str, Any], existing: Any, start: str, end: str) -> tuple[Any, Any]:
    first = values.get(start, getattr(existing, start, None))
    last = values.get(end, getattr(existing, end, None))
    if first is not None and last is not None and first > last:
        raise invalid(end, "before_start", f"{end} must not be before {start}")
    return first, last


async def validate_budget(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing: Any
) -> None:
    if is_partner(principal):
        # Partners read their budgets; access never lets them write one (app/access).
        raise Forbidden("Only the vendor may allocate funds", code="vendor_only")
    # partner_account_id is checked by the machinery (an enabled partner account).
    _period(values, existing, "start_date", "end_date")
    if (
        existing is not None
        and values.get("amount") is not None
        and (values["amount"] < existing.approved_amount)
    ):
        # The budget row is locked (FOR UPDATE) by the update, as by every approval.
        raise invalid(
            "amount",
            "below_approved",
            f"The budget has {existing.approved_amount} in approved requests already",
        )


async def validate_request(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing: Any
) -> None:
    if existing is not None:
        policies.editable(existing.status, "fund request")
    start, end = _period(values, existing, "start_date", "end_date")
    campaign_id = values.get("campaign_id")
    changed = campaign_id is not None and (existing is None or campaign_id != existing.campaign_id)
    if changed and not await campaigns.visible_id(session, principal, campaign_id):
        raise invalid("campaign_id", "not_found", "No such campaign")
    budget_id = values["budget_id"] if existing is None else existing.budget_id
    if existing is None and not await budgets.visible_id(session, principal, budget_id):
        raise invalid("budget_id", "not_found", "No such MDF budget")
    budget = await session.get(MdfBudget, budget_id)
    assert budget is not None
    if existing is None:
        stamped = values.get("partner_account_id")
        if stamped is not None and stamped != budget.partner_account_id:
            # The owner named belongs to another partner than the budget's.
            raise invalid(
                "owner_id", "not_found", "The owner must be a user of the budget's partner"
            )
        values["partner_account_id"] = budget.partner_account_id
    if start < budget.start_date or end > budget.end_date:
        raise invalid(
            "start_date",
            "outside_budget_period",
            f"The activity must fall within the budget's period "
            f"({budget.start_date} to {budget.end_date})",
        )


async def validate_claim(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing: Any
) -> None:
    if existing is not None:
        policies.editable(existing.status, "fund claim")
        request = await session.get(FundRequest, existing.request_id)
    else:
        if not await requests.visible_id(session, principal, values["request_id"]):
            raise invalid("request_id", "not_found", "No such fund request")
        request = await session.get(FundRequest, values["request_id"])
        assert request is not None
        if request.status != FundRequestStatus.approved:
            raise invalid(
                "request_id",
                "not_approved",
                f"Claims are made against approved fund requests (this one is "
                f"{request.status.value})",
            )
        values["budget_id"] = request.budget_id
        values["partner_account_id"] = request.partner_account_id
    assert request is not None
    amount = values.get("amount")
    left = (request.approved_amount or 0) - request.claimed_amount
    if amount is not None and amount > left:
        raise invalid(
            "amount", "exceeds_request", f"At most {left} is left to claim on this request"
        )


budgets_resource = Resource(
    name="mdf-budgets",
    path="mdf/budgets",
    model=MdfBudget,
    out=schemas.MdfBudget,
    create=schemas.MdfBudgetCreate,
    update=schemas.MdfBudgetUpdate,
    sharing=Sharing.public_read,
    filterable=(
        "partner_account_id",
        "fund_type",
        "start_date",
        "end_date",
        "amount",
        "owner_id",
        "created_at",
        "updated_at",
    ),
    sortable=("start_date", "created_at", "updated_at"),
    searchable=("title",),
    label="mdf budget",
    scope_name="mdf",
    required=("title", "amount", "start_date", "end_date", "fund_type", "currency_code"),
    validate=validate_budget,
)
requests_resource = Resource(
    name="fund-requests",
    path="mdf/requests",
    model=FundRequest,
    out=schemas.FundRequest,
    create=schemas.FundRequestCreate,
    update=schemas.FundRequestUpdate,
    sharing=Sharing.private,
    filterable=(
        "budget_id",
        "partner_account_id",
        "campaign_id",
        "status",
        "activity",
        "start_date",
        "owner_id",
        "created_at",
        "updated_at",
    ),
    sortable=("status", "created_at", "updated_at"),
    searchable=("title",),
    label="fund request",
    scope_name="mdf",
    required=("title", "activity", "requested_amount", "start_date", "end_date"),
    validate=validate_request,
)
claims_resource = Resource(
    name="fund-claims",
    path="mdf/claims",
    model=FundClaim,
    out=schemas.FundClaim,
    create=schemas.FundClaimCreate,
    update=schemas.FundClaimUpdate,
    sharing=Sharing.private,
    filterable=(
        "request_id",
        "budget_id",
        "partner_account_id",
        "status",
        "owner_id",
        "created_at",
        "updated_at",
    ),
    sortable=("status", "created_at", "updated_at"),
    searchable=("title",),
    label="fund claim",
    scope_name="mdf",
    required=("title", "amount", "proof_of_performance"),
    validate=validate_claim,
)

budgets = Records(budgets_resource)
requests = Records(requests_resource)
claims = Records(claims_resource)
