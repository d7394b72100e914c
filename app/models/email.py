"""Email: templates (a business object), mass sends, the log of every message sent with its
tracking (opens, clicks per link), and server-side secrets such as the link-signing key."""

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.clock import now
from app.models.base import Base, IdMixin, OwnedMixin, RecordMixin, TimestampMixin

EMAIL_STATUSES = ("queued", "sent", "failed")


class EmailTemplate(RecordMixin, OwnedMixin, Base):
    """Subject and bodies with merge fields (``{{ contact.first_name }}``), rendered in a
    sandbox (app/email/sandbox.py). ``object_type`` says which record it is written for."""

    __tablename__ = "email_templates"

    name: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(1000))
    html_body: Mapped[str | None] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)
    object_type: Mapped[str | None] = mapped_column(String(40))
    folder: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")

    __table_args__ = (
        Index("ix_email_templates_name", "name"),
        Index("ix_email_templates_folder", "folder"),
        Index("ix_email_templates_created_at", "created_at"),
        Index("ix_email_templates_updated_at", "updated_at"),
    )


class MassEmail(IdMixin, TimestampMixin, Base):
    """One mass send: to a campaign's members or to the leads or contacts a filter selects."""

    __tablename__ = "mass_emails"

    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("email_templates.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(String(1000))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    # For a list view: the object ("leads" / "contacts") and its filters ({"field[op]": value}).
    object_type: Mapped[str | None] = mapped_column(String(40))
    filters: Mapped[dict | None] = mapped_column(JSONB)
    track: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    recipients: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skipped_opted_out: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skipped_no_email: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class EmailMessage(IdMixin, TimestampMixin, Base):
    """One email to one recipient: rendered when it was requested, sent by a job, tracked."""

    __tablename__ = "email_messages"

    status: Mapped[str] = mapped_column(String(20), default="queued", server_default="queued")
    mass_email_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("mass_emails.id", ondelete="CASCADE"), index=True
    )
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("email_templates.id", ondelete="SET NULL")
    )
    # The record it was sent from (lead, contact, account, opportunity); polymorphic.
    related_type: Mapped[str | None] = mapped_column(String(40))
    related_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The completed task that logs it in the record's activity history (once sent).
    task_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    sent_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    from_address: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    to_address: Mapped[str] = mapped_column(String(320))
    to_name: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(1000))
    html_body: Mapped[str | None] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    # Tracking: the public token in the pixel and link URLs, and what they recorded.
    track: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    tracking_token: Mapped[str] = mapped_column(String(40))
    first_opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    open_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_clicked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    click_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'failed')", name="status"),
        Index("uq_email_messages_tracking_token", "tracking_token", unique=True),
        Index("ix_email_messages_related", "related_type", "related_id"),
    )


class EmailClick(IdMixin, Base):
    """Clicks on one link of one message."""

    __tablename__ = "email_clicks"

    message_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("email_messages.id", ondelete="CASCADE")
    )
    url: Mapped[str] = mapped_column(String(2048))
    count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    first_clicked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    last_clicked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    __table_args__ = (Index("uq_email_clicks_message_url", "message_id", "url", unique=True),)


class ServerSecret(Base):
    """Random keys every process shares (seeded by migrations): e.g. the key that signs
    tracked links. A setting can override one (``ACCORD_EMAIL_TRACKING_SECRET``)."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


__all__ = [
    "EMAIL_STATUSES",
    "EmailClick",
    "EmailMessage",
    "EmailTemplate",
    "MassEmail",
    "ServerSecret",
]
