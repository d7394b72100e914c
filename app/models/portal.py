"""Customer portal (app/portal): self-registrations waiting for a verified email and a decision,
the domains an administrator lets register into an account, and the fixed-window counters that
rate-limit the public registration endpoint (in PostgreSQL, so every process shares them)."""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin

REGISTRATION_STATUSES = ("unverified", "pending", "approved", "rejected", "expired")


class PortalRegistration(IdMixin, TimestampMixin, Base):
    """A customer asking for a portal login. ``unverified`` until the emailed link is followed,
    then approved by a rule or ``pending`` for an administrator."""

    __tablename__ = "portal_registrations"

    email: Mapped[str] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    company: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(
        String(20), default="unverified", server_default="unverified"
    )
    verify_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # How it was approved: "website_domain", "allowed_domain" or "admin".
    approved_by: Mapped[str | None] = mapped_column(String(20))
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="SET NULL")
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("contacts.id", ondelete="SET NULL")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(
            "status IN ('unverified', 'pending', 'approved', 'rejected', 'expired')",
            name="status",
        ),
        # One open registration per address (case-insensitive).
        Index(
            "uq_portal_registrations_open_email",
            func.lower(email),
            unique=True,
            postgresql_where="status IN ('unverified', 'pending')",
        ),
        Index("ix_portal_registrations_status", "status", "id"),
    )


class PortalDomain(IdMixin, TimestampMixin, Base):
    """Registrations from ``domain`` are approved into ``account_id`` (an administrator's
    allow-list, besides the accounts' own website domains)."""

    __tablename__ = "portal_domains"

    domain: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (Index("uq_portal_domains_domain", "domain", unique=True),)


class RateLimitCounter(Base):
    """Hits of one key (``register:ip:<addr>``) in the current fixed window."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    hits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


__all__ = ["REGISTRATION_STATUSES", "PortalDomain", "PortalRegistration", "RateLimitCounter"]
