import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from app.accounts.schemas import Currency, Money, Name
from app.contacts.schemas import RecordOut
from app.models.deals import DealRegistrationStatus

Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)]
Text = Annotated[str, StringConstraints(max_length=32000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32000)]
Days = Annotated[int, Field(ge=1, le=3650)]
# Seconds, so that tests (and demos) can use time frames of a few seconds.
Seconds = Annotated[int, Field(ge=1, le=3650 * 86400)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


class _DealFields(BaseModel):
    customer_website: Annotated[str, StringConstraints(max_length=255)] | None = None
    customer_country: Short | None = None
    contact_first_name: Short | None = None
    contact_last_name: Short | None = None
    contact_email: EmailStr | None = None
    contact_phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    contact_title: Annotated[str, StringConstraints(max_length=128)] | None = None
    product_id: uuid.UUID | None = Field(None, description="A product of the catalogue")
    product_interest: Annotated[str, StringConstraints(max_length=255)] | None = Field(
        None, description="The product of interest in words, when it is not in the catalogue"
    )
    expected_close_date: date | None = None
    requested_time_frame_days: Days | None = Field(
        None, description="How long the partner asks to be protected; the channel manager decides"
    )
    notes: Text | None = None


class DealRegistrationCreate(_DealFields):
    """A partner's registration is submitted to the vendor as it is created, unless `draft` is
    true (then `POST .../{id}/submit` submits it)."""

    model_config = ConfigDict(extra="forbid")

    customer_company: Name
    estimated_amount: Money
    currency_code: Currency = "USD"
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    draft: bool = Field(
        False,
        description="Save without submitting. A registration without a partner (an internal"
        " user's, with no `partner_account_id`) or made with a token lacking `deals:register`"
        " is always a draft",
    )


class DealRegistrationUpdate(_DealFields):
    """Only while a draft, rejected or expired (more information before resubmitting)."""

    model_config = ConfigDict(extra="forbid")

    customer_company: Name | None = None
    estimated_amount: Money | None = None
    currency_code: Currency | None = None
    owner_id: uuid.UUID | None = None


class DealRegistration(RecordOut, _DealFields):
    customer_company: str
    customer_company_normalized: str
    customer_email_domain: str | None
    contact_email: str | None = None
    estimated_amount: Decimal
    currency_code: str
    partner_account_id: uuid.UUID | None
    status: DealRegistrationStatus
    submitted_at: datetime | None
    submitted_by: uuid.UUID | None
    submission_count: int
    decided_at: datetime | None
    decided_by: uuid.UUID | None
    decision_comment: str | None
    rejection_reason: str | None
    has_conflicts: bool = Field(
        description="Registrations submitted earlier or open opportunities for the same customer"
        " and product were found when it was submitted (see `GET .../{id}/conflicts`)"
    )
    conflict_of_id: uuid.UUID | None = Field(
        description="The earliest registration it conflicts with (not shown to partners)"
    )
    protection_seconds: int | None
    approved_at: datetime | None
    expires_at: datetime | None = Field(description="When the protection time frame ends")
    expired_at: datetime | None
    opportunity_id: uuid.UUID | None
    margin_percent: Decimal | None
    extension_requested_at: datetime | None
    requested_extension_seconds: int | None
    extension_reason: str | None
    extension_count: int
    closed_at: datetime | None
    closed_amount: Decimal | None
    proof_of_performance: str | list[dict] | None
    margin_credit: Decimal | None = Field(description="closed_amount x margin_percent / 100")
    lost_reason: str | None
    withdrawn_at: datetime | None


class _TimeFrame(BaseModel):
    @model_validator(mode="after")
    def _one_unit(self):
        days, seconds = self._units()
        if getattr(self, days) is not None and getattr(self, seconds) is not None:
            raise ValueError(f"Give {days} or {seconds}, not both")
        return self

    def _units(self) -> tuple[str, str]:
        raise NotImplementedError


class DealRegistrationApprove(_TimeFrame):
    model_config = ConfigDict(extra="forbid")

    protection_days: Days | None = Field(
        None, description="The protection time frame; defaults to the requested one, else 90 days"
    )
    protection_seconds: Seconds | None = Field(None, description="The time frame in seconds")
    opportunity_id: uuid.UUID | None = Field(
        None,
        description="Link an existing opportunity (it is shared with the partner and given to"
        " the registering partner user); without it a new opportunity is created",
    )
    account_id: uuid.UUID | None = Field(
        None, description="The customer's account for a new opportunity"
    )
    margin_percent: Percent | None = Field(
        None, description="The partner's margin credit on closing; defaults by partner tier"
    )
    comment: Text | None = None

    def _units(self) -> tuple[str, str]:
        return "protection_days", "protection_seconds"


class DealRegistrationReject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="The explanation the partner sees")


class DealRegistrationResubmit(DealRegistrationUpdate):
    """Any field of the registration, changed before it goes back to the vendor."""


class DealExtensionRequest(_TimeFrame):
    model_config = ConfigDict(extra="forbid")

    extension_days: Days | None = None
    extension_seconds: Seconds | None = None
    reason: Text | None = None

    def _units(self) -> tuple[str, str]:
        return "extension_days", "extension_seconds"


class DealExtensionGrant(_TimeFrame):
    model_config = ConfigDict(extra="forbid")

    extension_days: Days | None = Field(
        None, description="Defaults to what was requested, else 30 days"
    )
    extension_seconds: Seconds | None = None
    comment: Text | None = None

    def _units(self) -> tuple[str, str]:
        return "extension_days", "extension_seconds"


class DealExtensionDeny(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class DealProof(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2000)] | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None


class DealRegistrationClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["won", "lost"]
    proof_of_performance: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32000)]
        | Annotated[list[DealProof], Field(min_length=1, max_length=50)]
        | None
    ) = Field(
        None,
        description="Required to close as won: an invoice or purchase order reference, or a"
        " list of documents",
    )
    closed_amount: Money | None = Field(
        None, description="The amount won; defaults to the estimated amount"
    )
    lost_reason: Text | None = None


class DealRegistrationWithdraw(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text | None = None


class DealConflict(BaseModel):
    object_type: Literal["deal_registrations", "opportunities"]
    id: uuid.UUID
    customer_company: str = Field(description="The registration's customer or account name")
    status: str = Field(description="The registration's status or the opportunity's stage")
    partner_account_id: uuid.UUID | None
    matched_on: list[Literal["company_name", "email_domain"]]
    similarity: float = Field(description="How alike the company names are, 0-100")
    same_product: bool = Field(description="False only when both products are known and differ")
    submitted_at: datetime | None = None


class DealConflicts(BaseModel):
    data: list[DealConflict]
