"""Opportunities (deals in progress), their stage history and their line items."""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

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
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, OwnedMixin, RecordMixin


class ForecastCategory(enum.StrEnum):
    pipeline = "pipeline"
    best_case = "best_case"
    commit = "commit"
    closed = "closed"
    omitted = "omitted"


def _forecast_category() -> Enum:
    return Enum(ForecastCategory, name="forecast_category", native_enum=False, length=20)


class Opportunity(RecordMixin, OwnedMixin, Base):
    __tablename__ = "opportunities"

    name: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency_code: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    close_date: Mapped[date] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(
        String(40), default="Prospecting", server_default="Prospecting"
    )
    probability: Mapped[int | None] = mapped_column(Integer)
    forecast_category: Mapped[ForecastCategory | None] = mapped_column(_forecast_category())
    type: Mapped[str | None] = mapped_column(String(40))
    lead_source: Mapped[str | None] = mapped_column(String(80))
    next_step: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    is_won: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    primary_campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    partner_account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    external_id: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability_range"),
        Index("ix_opportunities_name", "name"),
        Index("ix_opportunities_amount", "amount"),
        Index("ix_opportunities_close_date", "close_date"),
        Index("ix_opportunities_stage", "stage"),
        Index("ix_opportunities_probability", "probability"),
        Index("ix_opportunities_created_at", "created_at"),
        Index("ix_opportunities_updated_at", "updated_at"),
        Index(
            "uq_opportunities_external_id",
            "external_id",
            unique=True,
            postgresql_where="external_id IS NOT NULL",
        ),
    )


class OpportunityStageHistory(IdMixin, Base):
    """A snapshot of an opportunity's forecast fields, written on create and whenever the stage,
    amount, probability or close date change."""

    __tablename__ = "opportunity_stage_history"

    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    probability: Mapped[int | None] = mapped_column(Integer)
    forecast_category: Mapped[ForecastCategory | None] = mapped_column(_forecast_category())
    close_date: Mapped[date | None] = mapped_column(Date)
    changed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OpportunityLineItem(RecordMixin, OwnedMixin, Base):
    """A product on an opportunity. ``owner_id`` is the opportunity's owner (kept in step), so
    record access follows the opportunity."""

    __tablename__ = "opportunity_line_items"

    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    price_book_entry_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("price_book_entries.id", ondelete="RESTRICT"), index=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    discount: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    total_price: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    description: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("discount BETWEEN 0 AND 100", name="discount_range"),
        Index("ix_opportunity_line_items_total_price", "total_price"),
        Index("ix_opportunity_line_items_created_at", "created_at"),
        Index("ix_opportunity_line_items_updated_at", "updated_at"),
    )
