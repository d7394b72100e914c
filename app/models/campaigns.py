"""Campaigns (marketing efforts, in a hierarchy) and their members (leads and contacts)."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, OwnedMixin, RecordMixin


class Campaign(RecordMixin, OwnedMixin, Base):
    __tablename__ = "campaigns"

    name: Mapped[str] = mapped_column(String(80))
    type: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str | None] = mapped_column(String(40))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    budgeted_cost: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    actual_cost: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    expected_revenue: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    expected_response: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    number_sent: Mapped[int | None] = mapped_column(Integer)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    description: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_campaigns_name", "name"),
        Index("ix_campaigns_start_date", "start_date"),
        Index("ix_campaigns_end_date", "end_date"),
        Index("ix_campaigns_created_at", "created_at"),
        Index("ix_campaigns_updated_at", "updated_at"),
    )


class CampaignMember(RecordMixin, OwnedMixin, Base):
    """A lead or a contact in a campaign. ``owner_id`` is the campaign's owner (kept in step), so
    record access follows the campaign."""

    __tablename__ = "campaign_members"

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    lead_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("leads.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(40), default="Sent", server_default="Sent")
    has_responded: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    first_responded_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("num_nonnulls(lead_id, contact_id) = 1", name="lead_or_contact"),
        Index("ix_campaign_members_status", "status"),
        Index("ix_campaign_members_created_at", "created_at"),
        Index("ix_campaign_members_updated_at", "updated_at"),
        Index(
            "uq_campaign_members_campaign_lead",
            "campaign_id",
            "lead_id",
            unique=True,
            postgresql_where="lead_id IS NOT NULL AND deleted_at IS NULL",
        ),
        Index(
            "uq_campaign_members_campaign_contact",
            "campaign_id",
            "contact_id",
            unique=True,
            postgresql_where="contact_id IS NOT NULL AND deleted_at IS NULL",
        ),
    )
