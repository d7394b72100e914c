"""Deal registrations: a partner registers a deal it found (customer, contact, product, amount,
time frame); the vendor's channel manager approves it for a protection time frame (with an
opportunity owned by the partner) or rejects it; it expires when the time frame ends unless it
is extended or closed (won, with proof of performance and the partner's margin credit, or lost).

The state machine is in app/deals/policies.py. ``partner_account_id``, ``status``,
``submitted_at``, ``decided_at``, ``opportunity_id`` and ``estimated_amount`` are read by the
partner scorecards (app/scorecards): keep their names.
"""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, OwnedMixin, RecordMixin


class DealRegistrationStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    extension_requested = "extension_requested"
    expired = "expired"
    closed_won = "closed_won"
    closed_lost = "closed_lost"
    withdrawn = "withdrawn"


class DealRegistration(RecordMixin, OwnedMixin, Base):
    """Owned by the partner user who registered it; shared with its partner account."""

    __tablename__ = "deal_registrations"

    partner_account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[DealRegistrationStatus] = mapped_column(
        Enum(DealRegistrationStatus, name="deal_registration_status", native_enum=False, length=30),
        default=DealRegistrationStatus.draft,
        server_default="draft",
    )
    # The customer, as the partner gives it, and the keys conflicts are found by.
    customer_company: Mapped[str] = mapped_column(String(255))
    customer_company_normalized: Mapped[str] = mapped_column(String(255))
    customer_email_domain: Mapped[str | None] = mapped_column(String(255))
    customer_website: Mapped[str | None] = mapped_column(String(255))
    customer_country: Mapped[str | None] = mapped_column(String(80))
    contact_first_name: Mapped[str | None] = mapped_column(String(80))
    contact_last_name: Mapped[str | None] = mapped_column(String(80))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_title: Mapped[str | None] = mapped_column(String(128))
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    product_interest: Mapped[str | None] = mapped_column(String(255))
    estimated_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency_code: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    requested_time_frame_days: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    # Submission and decision.
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    submission_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decision_comment: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # Conflicts found when it was (last) submitted: registrations submitted before it or open
    # opportunities for the same customer and product. ``conflict_of_id`` is the earliest such
    # registration.
    has_conflicts: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    conflict_of_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("deal_registrations.id", ondelete="SET NULL"), index=True
    )
    # Protection: the time frame the channel manager set, when it started and ends.
    protection_seconds: Mapped[int | None] = mapped_column(Integer)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("opportunities.id", ondelete="SET NULL"), index=True
    )
    margin_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    # Extensions.
    extension_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    requested_extension_seconds: Mapped[int | None] = mapped_column(Integer)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extension_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Closing.
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    proof_of_performance: Mapped[Any | None] = mapped_column(JSONB)
    margin_credit: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    lost_reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("estimated_amount >= 0", name="estimated_amount_positive"),
        CheckConstraint(
            "requested_time_frame_days IS NULL OR requested_time_frame_days > 0",
            name="requested_time_frame_positive",
        ),
        CheckConstraint(
            "protection_seconds IS NULL OR protection_seconds > 0", name="protection_positive"
        ),
        CheckConstraint(
            "margin_percent IS NULL OR (margin_percent >= 0 AND margin_percent <= 100)",
            name="margin_percent_range",
        ),
        Index("ix_deal_registrations_status", "status"),
        Index("ix_deal_registrations_customer_company_normalized", "customer_company_normalized"),
        Index("ix_deal_registrations_customer_email_domain", "customer_email_domain"),
        Index("ix_deal_registrations_submitted_at", "submitted_at"),
        Index("ix_deal_registrations_expires_at", "expires_at"),
        Index("ix_deal_registrations_estimated_amount", "estimated_amount"),
        Index("ix_deal_registrations_created_at", "created_at"),
        Index("ix_deal_registrations_updated_at", "updated_at"),
    )


__all__ = ["DealRegistration", "DealRegistrationStatus"]
