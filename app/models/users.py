"""Who can sign in: roles (a hierarchy), users of every kind."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, Index, Integer, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin


class UserKind(enum.StrEnum):
    internal = "internal"  # an employee of the vendor
    partner = "partner"  # a user of a partner account (partner manager or partner rep)
    portal = "portal"  # a customer portal user, linked to a contact


class PartnerRole(enum.StrEnum):
    partner_manager = "partner_manager"
    partner_rep = "partner_rep"


class Role(IdMixin, TimestampMixin, Base):
    """A place in the role hierarchy. Users in a role see what users in roles below it own."""

    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str | None] = mapped_column(String(500))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("roles.id", ondelete="RESTRICT"), index=True
    )


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[UserKind] = mapped_column(
        Enum(UserKind, name="user_kind", native_enum=False, length=20), default=UserKind.internal
    )
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    role_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("roles.id", ondelete="RESTRICT"), index=True
    )
    manager_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    # Filled in by the partner and portal features: the partner account a partner user belongs to,
    # and the contact a portal user is.
    partner_account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    partner_role: Mapped[PartnerRole | None] = mapped_column(
        Enum(PartnerRole, name="partner_role", native_enum=False, length=20)
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    locale: Mapped[str] = mapped_column(String(16), default="en_US", server_default="en_US")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # Emails are unique regardless of case.
        Index("uq_users_email_lower", func.lower(email), unique=True),
    )
