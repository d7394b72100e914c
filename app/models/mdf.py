"""Market development funds (MDF): a budget per partner account and period, fund requests
against it and fund claims (with proof of performance) against approved requests.

Salesforce's chain is PartnerMarketingBudget -> PartnerFundAllocation -> PartnerFundRequest ->
PartnerFundClaim; here the budget *is* the allocation to one partner. The roll-ups
(``approved_amount`` on budgets, ``claimed_amount`` / ``paid_amount`` on requests) are kept in
the transaction that changes them, under a row lock, and CHECK constraints back the rule that
nothing exceeds what was allocated.
"""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Numeric,
    String,
    text,
)
from sqlalchemy import Text as TextType
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, OwnedMixin, RecordMixin


class FundType(enum.StrEnum):
    mdf = "mdf"  # market development funds: paid before the activity
    co_op = "co_op"  # co-op funds: earned from past sales


class FundRequestStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"


class FundClaimStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    paid = "paid"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=20)


def _money(**kw) -> Any:
    return mapped_column(Numeric(18, 2), **kw)


class MdfBudget(RecordMixin, OwnedMixin, Base):
    __tablename__ = "mdf_budgets"

    title: Mapped[str] = mapped_column(String(255))
    partner_account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    fund_type: Mapped[FundType] = mapped_column(
        _enum(FundType, "fund_type"), default=FundType.mdf, server_default="mdf"
    )
    amount: Mapped[Decimal] = _money()
    currency_code: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(TextType)
    # Sum of the approved amounts of its approved fund requests.
    approved_amount: Mapped[Decimal] = _money(default=Decimal("0.00"), server_default="0")

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("start_date <= end_date", name="period"),
        CheckConstraint("approved_amount >= 0 AND approved_amount <= amount", name="within_amount"),
        Index("ix_mdf_budgets_start_date", "start_date"),
        Index("ix_mdf_budgets_created_at", "created_at"),
        Index("ix_mdf_budgets_updated_at", "updated_at"),
    )


class FundRequest(RecordMixin, OwnedMixin, Base):
    __tablename__ = "fund_requests"

    title: Mapped[str] = mapped_column(String(255))
    budget_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("mdf_budgets.id", ondelete="RESTRICT"), index=True
    )
    partner_account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    activity: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(TextType)
    desired_outcome: Mapped[str | None] = mapped_column(TextType)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    requested_amount: Mapped[Decimal] = _money()
    approved_amount: Mapped[Decimal | None] = _money()
    status: Mapped[FundRequestStatus] = mapped_column(
        _enum(FundRequestStatus, "fund_request_status"),
        default=FundRequestStatus.draft,
        server_default="draft",
    )
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    rejection_reason: Mapped[str | None] = mapped_column(TextType)
    # Sums of its claims that are submitted, approved or paid / paid.
    claimed_amount: Mapped[Decimal] = _money(default=Decimal("0.00"), server_default="0")
    paid_amount: Mapped[Decimal] = _money(default=Decimal("0.00"), server_default="0")

    __table_args__ = (
        CheckConstraint("requested_amount > 0", name="requested_amount_positive"),
        CheckConstraint(
            "approved_amount IS NULL OR (approved_amount > 0 "
            "AND approved_amount <= requested_amount)",
            name="approved_amount_range",
        ),
        CheckConstraint("start_date <= end_date", name="period"),
        CheckConstraint(
            "claimed_amount >= 0 AND claimed_amount <= coalesce(approved_amount, 0)",
            name="claims_within_approved",
        ),
        CheckConstraint("paid_amount >= 0 AND paid_amount <= claimed_amount", name="paid_range"),
        Index("ix_fund_requests_status", "status"),
        Index("ix_fund_requests_created_at", "created_at"),
        Index("ix_fund_requests_updated_at", "updated_at"),
    )


class FundClaim(RecordMixin, OwnedMixin, Base):
    __tablename__ = "fund_claims"

    title: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("fund_requests.id", ondelete="RESTRICT"), index=True
    )
    budget_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("mdf_budgets.id", ondelete="RESTRICT"), index=True
    )
    partner_account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    amount: Mapped[Decimal] = _money()
    description: Mapped[str | None] = mapped_column(TextType)
    # Proof of performance: [{"name": ..., "url": ..., "description": ...}] (invoices, photos,
    # attendee lists); at least one is needed to submit.
    proof_of_performance: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    status: Mapped[FundClaimStatus] = mapped_column(
        _enum(FundClaimStatus, "fund_claim_status"),
        default=FundClaimStatus.draft,
        server_default="draft",
    )
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    rejection_reason: Mapped[str | None] = mapped_column(TextType)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payment_reference: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_fund_claims_status", "status"),
        Index("ix_fund_claims_created_at", "created_at"),
        Index("ix_fund_claims_updated_at", "updated_at"),
    )


__all__ = [
    "FundClaim",
    "FundClaimStatus",
    "FundRequest",
    "FundRequestStatus",
    "FundType",
    "MdfBudget",
]
