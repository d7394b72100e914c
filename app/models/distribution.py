"""Lead distribution: offers of a lead to partners (a rep, a partner account, or a group of
partner accounts racing for it: "shark tank") and the rules that choose the partners.

Every offer is one row in ``lead_offers``. The offers made together share a
``distribution_id`` (one row per partner account of a shark tank); each has its own time limit
(``expires_at``) and is closed exactly once: ``accepted``, ``declined``, ``expired`` (claw-back),
``withdrawn`` by the vendor, or ``taken`` when another partner of its group accepted first.
"""

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin


class OfferStatus(enum.StrEnum):
    offered = "offered"  # open: the partner may accept or decline until expires_at
    accepted = "accepted"
    declined = "declined"
    expired = "expired"  # clawed back: the time limit passed without an answer
    withdrawn = "withdrawn"  # by the vendor
    taken = "taken"  # another partner of the same shark tank accepted first


class OfferMode(enum.StrEnum):
    direct = "direct"  # one partner (account or rep)
    shark_tank = "shark_tank"  # several partner accounts; the first to accept wins


class OnExpiry(enum.StrEnum):
    extend = "extend"  # the same partner gets another time limit (up to max_extensions)
    redistribute = "redistribute"  # the next partner by rule, excluding those who had it
    none = "none"  # the lead goes back to the vendor


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=20)


class LeadOffer(IdMixin, TimestampMixin, Base):
    __tablename__ = "lead_offers"

    lead_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("leads.id", ondelete="CASCADE"), index=True
    )
    partner_account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # Set when the offer is addressed to one partner rep (only that rep, and the partner's
    # managers, see it).
    partner_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    # The offers made together (one per partner account of a shark tank).
    distribution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    rule_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("distribution_rules.id", ondelete="SET NULL")
    )
    mode: Mapped[OfferMode] = mapped_column(_enum(OfferMode, "lead_offer_mode"))
    status: Mapped[OfferStatus] = mapped_column(
        _enum(OfferStatus, "lead_offer_status"), server_default="offered"
    )
    on_expiry: Mapped[OnExpiry] = mapped_column(_enum(OnExpiry, "lead_offer_on_expiry"))
    time_limit_seconds: Mapped[int] = mapped_column(Integer)
    extensions: Mapped[int] = mapped_column(Integer, server_default="0")
    max_extensions: Mapped[int] = mapped_column(Integer, server_default="1")
    message: Mapped[str | None] = mapped_column(Text)
    offered_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    offered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    responded_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    decline_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # A lead is accepted once, whatever the races (the lead's row lock decides them first).
        Index(
            "uq_lead_offers_accepted",
            "lead_id",
            unique=True,
            postgresql_where=text("status = 'accepted'"),
        ),
        # The lead inbox: open offers per partner account.
        Index(
            "ix_lead_offers_inbox",
            "partner_account_id",
            "id",
            postgresql_where=text("status = 'offered'"),
        ),
        CheckConstraint("time_limit_seconds > 0", name="time_limit_positive"),
    )


class DistributionRule(IdMixin, TimestampMixin, Base):
    """Which partners get a lead: criteria on the lead (country, state, product interest,
    minimum score) and on the partners (tier), the target partners, and how they are offered.
    Rules are tried in ``sort_order``; the first that yields a partner who has not had the lead
    yet wins."""

    __tablename__ = "distribution_rules"

    name: Mapped[str] = mapped_column(String(120))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    sort_order: Mapped[int] = mapped_column(Integer, server_default="0")
    countries: Mapped[list[str]] = mapped_column(ARRAY(String(80)), server_default="{}")
    states: Mapped[list[str]] = mapped_column(ARRAY(String(80)), server_default="{}")
    product_interests: Mapped[list[str]] = mapped_column(ARRAY(String(255)), server_default="{}")
    min_score: Mapped[int | None] = mapped_column(Integer)
    partner_tiers: Mapped[list[str]] = mapped_column(ARRAY(String(20)), server_default="{}")
    partner_account_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), server_default="{}"
    )
    mode: Mapped[OfferMode] = mapped_column(_enum(OfferMode, "distribution_rule_mode"))
    on_expiry: Mapped[OnExpiry] = mapped_column(_enum(OnExpiry, "distribution_rule_on_expiry"))
    time_limit_seconds: Mapped[int] = mapped_column(Integer)
    max_extensions: Mapped[int] = mapped_column(Integer, server_default="1")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        Index("ix_distribution_rules_order", "sort_order", "id"),
        CheckConstraint("time_limit_seconds > 0", name="time_limit_positive"),
    )


__all__ = ["DistributionRule", "LeadOffer", "OfferMode", "OfferStatus", "OnExpiry"]
