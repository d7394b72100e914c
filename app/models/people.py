"""Contacts (people at accounts) and leads (people not yet qualified)."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, OwnedMixin, RecordMixin


class PersonMixin:
    salutation: Mapped[str | None] = mapped_column(String(20))
    first_name: Mapped[str | None] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    title: Mapped[str | None] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    mobile_phone: Mapped[str | None] = mapped_column(String(40))
    lead_source: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    has_opted_out_of_email: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    street: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str | None] = mapped_column(String(80))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(80))
    external_id: Mapped[str | None] = mapped_column(String(255))


class Contact(RecordMixin, OwnedMixin, PersonMixin, Base):
    __tablename__ = "contacts"

    account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    department: Mapped[str | None] = mapped_column(String(80))
    reports_to_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("contacts.id", ondelete="SET NULL")
    )
    birthdate: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        Index("ix_contacts_last_name", "last_name"),
        Index("ix_contacts_email", "email"),
        Index("ix_contacts_created_at", "created_at"),
        Index("ix_contacts_updated_at", "updated_at"),
        Index(
            "uq_contacts_external_id",
            "external_id",
            unique=True,
            postgresql_where="external_id IS NOT NULL",
        ),
    )


class Lead(RecordMixin, OwnedMixin, PersonMixin, Base):
    __tablename__ = "leads"

    company: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(
        String(80), default="Open - Not Contacted", server_default="Open - Not Contacted"
    )
    rating: Mapped[str | None] = mapped_column(String(20))
    industry: Mapped[str | None] = mapped_column(String(80))
    website: Mapped[str | None] = mapped_column(String(255))
    annual_revenue: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    number_of_employees: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[int | None] = mapped_column(Integer)
    # What the customer is interested in (a product or product line): lead distribution rules
    # match on it (app/distribution).
    product_interest: Mapped[str | None] = mapped_column(String(255))
    is_converted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    converted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    converted_account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="SET NULL")
    )
    converted_contact_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("contacts.id", ondelete="SET NULL")
    )
    converted_opportunity_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The partner the lead is shared with (set when a partner user owns it or a partner creates
    # it; app/access).
    partner_account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (
        Index("ix_leads_status", "status"),
        Index("ix_leads_last_name", "last_name"),
        Index("ix_leads_company", "company"),
        Index("ix_leads_email", "email"),
        Index("ix_leads_created_at", "created_at"),
        Index("ix_leads_updated_at", "updated_at"),
        Index(
            "uq_leads_external_id",
            "external_id",
            unique=True,
            postgresql_where="external_id IS NOT NULL",
        ),
    )
