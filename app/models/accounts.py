"""Accounts: the companies you sell to, buy from, compete with, or sell through."""

import enum
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, Date, Enum, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, OwnedMixin, RecordMixin


class AccountType(enum.StrEnum):
    prospect = "prospect"
    customer = "customer"
    partner = "partner"
    competitor = "competitor"
    reseller = "reseller"
    other = "other"


class PartnerTier(enum.StrEnum):
    bronze = "bronze"
    silver = "silver"
    gold = "gold"
    platinum = "platinum"


class PartnerStatus(enum.StrEnum):
    prospect = "prospect"  # being recruited or onboarded
    active = "active"
    inactive = "inactive"
    terminated = "terminated"


class Account(RecordMixin, OwnedMixin, Base):
    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(255))
    account_number: Mapped[str | None] = mapped_column(String(40))
    type: Mapped[AccountType | None] = mapped_column(
        Enum(AccountType, name="account_type", native_enum=False, length=20)
    )
    industry: Mapped[str | None] = mapped_column(String(80))
    rating: Mapped[str | None] = mapped_column(String(20))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    phone: Mapped[str | None] = mapped_column(String(40))
    fax: Mapped[str | None] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(255))
    annual_revenue: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency_code: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    number_of_employees: Mapped[int | None] = mapped_column(Integer)
    ownership: Mapped[str | None] = mapped_column(String(40))
    ticker_symbol: Mapped[str | None] = mapped_column(String(20))
    sic: Mapped[str | None] = mapped_column(String(20))
    billing_street: Mapped[str | None] = mapped_column(String(255))
    billing_city: Mapped[str | None] = mapped_column(String(80))
    billing_state: Mapped[str | None] = mapped_column(String(80))
    billing_postal_code: Mapped[str | None] = mapped_column(String(20))
    billing_country: Mapped[str | None] = mapped_column(String(80))
    shipping_street: Mapped[str | None] = mapped_column(String(255))
    shipping_city: Mapped[str | None] = mapped_column(String(80))
    shipping_state: Mapped[str | None] = mapped_column(String(80))
    shipping_postal_code: Mapped[str | None] = mapped_column(String(20))
    shipping_country: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(255))
    # "Enable As Partner" (app/partners): the account is a channel partner whose users sign in
    # and see what is shared with it (app/access). Set only through the partner endpoints.
    is_partner: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    partner_program: Mapped[str | None] = mapped_column(String(120))
    partner_tier: Mapped[PartnerTier | None] = mapped_column(
        Enum(PartnerTier, name="partner_tier", native_enum=False, length=20)
    )
    partner_status: Mapped[PartnerStatus | None] = mapped_column(
        Enum(PartnerStatus, name="partner_status", native_enum=False, length=20)
    )
    # The internal user who owns the relationship with the partner.
    channel_manager_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    partner_onboarded_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        Index("ix_accounts_name", "name"),
        Index("ix_accounts_partners", "id", postgresql_where="is_partner"),
        Index("ix_accounts_created_at", "created_at"),
        Index("ix_accounts_updated_at", "updated_at"),
        Index(
            "uq_accounts_external_id",
            "external_id",
            unique=True,
            postgresql_where="external_id IS NOT NULL",
        ),
    )
