"""MDF shapes: budgets, fund requests, fund claims and the bodies of their transitions."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, computed_field

from app.accounts.schemas import Currency, Name
from app.contacts.schemas import RecordOut
from app.models.mdf import FundClaimStatus, FundRequestStatus, FundType

# Money the caller gives: positive, at most 16 digits before the point and 2 after.
Amount = Annotated[
    Decimal,
    Field(gt=0, max_digits=18, decimal_places=2),
    AfterValidator(lambda d: d.quantize(Decimal("0.01"))),
]
Activity = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
LongText = Annotated[str, StringConstraints(max_length=32000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32000)]


# --- budgets ---------------------------------------------------------------------------------


class _BudgetFields(BaseModel):
    description: LongText | None = None


class MdfBudgetCreate(_BudgetFields):
    model_config = ConfigDict(extra="forbid")

    title: Name
    partner_account_id: uuid.UUID = Field(description="The partner account the funds go to")
    fund_type: FundType = FundType.mdf
    amount: Amount = Field(description="What is allocated to the partner for the period")
    currency_code: Currency = "USD"
    start_date: date
    end_date: date
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")


class MdfBudgetUpdate(_BudgetFields):
    model_config = ConfigDict(extra="forbid")

    title: Name | None = None
    fund_type: FundType | None = None
    amount: Amount | None = Field(None, description="Never below what is already approved")
    currency_code: Currency | None = None
    start_date: date | None = None
    end_date: date | None = None
    owner_id: uuid.UUID | None = None


class MdfBudget(RecordOut, _BudgetFields):
    title: str
    partner_account_id: uuid.UUID
    fund_type: FundType
    amount: Decimal
    currency_code: str
    start_date: date
    end_date: date
    approved_amount: Decimal = Field(description="Sum of the approved fund requests")

    @computed_field(description="What is left to approve: amount - approved_amount")  # type: ignore[prop-decorator]
    @property
    def remaining_amount(self) -> Decimal:
        return self.amount - self.approved_amount


# --- fund requests ---------------------------------------------------------------------------


class _RequestFields(BaseModel):
    campaign_id: uuid.UUID | None = None
    description: LongText | None = None
    desired_outcome: LongText | None = None


class FundRequestCreate(_RequestFields):
    model_config = ConfigDict(extra="forbid")

    title: Name
    budget_id: uuid.UUID = Field(description="The partner's MDF budget the funds come from")
    activity: Activity = Field(description="What the funds pay for: Webinar, Trade show, ...")
    requested_amount: Amount
    start_date: date = Field(description="Within the budget's period")
    end_date: date
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")


class FundRequestUpdate(_RequestFields):
    """Only while the request is a draft."""

    model_config = ConfigDict(extra="forbid")

    title: Name | None = None
    activity: Activity | None = None
    requested_amount: Amount | None = None
    start_date: date | None = None
    end_date: date | None = None
    owner_id: uuid.UUID | None = None


class FundRequest(RecordOut, _RequestFields):
    title: str
    budget_id: uuid.UUID
    partner_account_id: uuid.UUID
    activity: str
    requested_amount: Decimal
    approved_amount: Decimal | None = Field(description="Set when approved (Salesforce's Amount)")
    start_date: date
    end_date: date
    status: FundRequestStatus
    submitted_at: datetime | None
    decided_at: datetime | None
    decided_by: uuid.UUID | None
    rejection_reason: str | None
    claimed_amount: Decimal = Field(description="Sum of its submitted, approved and paid claims")
    paid_amount: Decimal = Field(description="Sum of its paid claims")


class FundRequestApprove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approved_amount: Amount | None = Field(
        None, description="At most the requested amount; defaults to it"
    )


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


# --- fund claims -----------------------------------------------------------------------------


class Proof(BaseModel):
    """A piece of proof of performance: an invoice, photos, the attendee list."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2000)]
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None


class _ClaimFields(BaseModel):
    description: LongText | None = None
    proof_of_performance: list[Proof] = Field(
        default_factory=list, max_length=50, description="Needed (at least one) to submit"
    )


class FundClaimCreate(_ClaimFields):
    model_config = ConfigDict(extra="forbid")

    title: Name
    request_id: uuid.UUID = Field(description="An approved fund request")
    amount: Amount
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")


class FundClaimUpdate(BaseModel):
    """Only while the claim is a draft."""

    model_config = ConfigDict(extra="forbid")

    title: Name | None = None
    amount: Amount | None = None
    description: LongText | None = None
    proof_of_performance: list[Proof] | None = Field(None, max_length=50)
    owner_id: uuid.UUID | None = None


class FundClaim(RecordOut, _ClaimFields):
    title: str
    request_id: uuid.UUID
    budget_id: uuid.UUID
    partner_account_id: uuid.UUID
    amount: Decimal
    status: FundClaimStatus
    submitted_at: datetime | None
    decided_at: datetime | None
    decided_by: uuid.UUID | None
    rejection_reason: str | None
    paid_at: datetime | None
    payment_reference: str | None


class FundClaimPay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_reference: Annotated[str, StringConstraints(max_length=100)] | None = None
