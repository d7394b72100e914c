"""Email-to-case, web-to-case and solutions used on cases (app/inbound).

``case_emails`` is the thread of a case's mail: every message received into it or sent from it,
by ``Message-ID``, so a reply's ``In-Reply-To``/``References`` find the case and a message
delivered twice is recognised (the unique ``message_id``). Attachments are stored in the
database (bytea) with size limits, like the rest of a case.
"""

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin


class CaseEmail(IdMixin, Base):
    __tablename__ = "case_emails"

    case_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("cases.id", ondelete="CASCADE")
    )
    # inbound (received by the gateway) or outbound (sent from the case: auto-response, agent).
    direction: Mapped[str] = mapped_column(String(10))
    # The RFC 5322 Message-ID with its angle brackets; a content hash when a message had none.
    message_id: Mapped[str] = mapped_column(String(998))
    from_address: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    # The sent email (app/email) of an outbound message; the comment an inbound reply became.
    email_message_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("email_messages.id", ondelete="SET NULL")
    )
    comment_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("case_comments.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )

    __table_args__ = (
        Index("uq_case_emails_message_id", "message_id", unique=True),
        Index("ix_case_emails_case_id_id", "case_id", "id"),
    )


class CaseAttachment(IdMixin, Base):
    __tablename__ = "case_attachments"

    case_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("cases.id", ondelete="CASCADE")
    )
    case_email_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("case_emails.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    # Inline parts (Content-Disposition: inline, e.g. images an HTML body shows) keep their
    # Content-ID.
    is_inline: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    content_id: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )

    __table_args__ = (Index("ix_case_attachments_case_id_id", "case_id", "id"),)


class CaseSolution(IdMixin, Base):
    """A solution used on a case (Salesforce's CaseSolution): counted once per case in the
    solution's ``times_used``."""

    __tablename__ = "case_solutions"

    case_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("cases.id", ondelete="CASCADE")
    )
    solution_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("solutions.id", ondelete="CASCADE")
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )

    __table_args__ = (
        Index("uq_case_solutions_case_id_solution_id", "case_id", "solution_id", unique=True),
        Index("ix_case_solutions_solution_id", "solution_id"),
    )


class WebToCaseCounter(Base):
    """Web-to-case rate limits: submissions per key (``ip:<address>``, ``email:<address>``) in
    fixed windows, counted with an upsert so concurrent submissions count exactly."""

    __tablename__ = "web_to_case_counters"

    key: Mapped[str] = mapped_column(String(400))
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        PrimaryKeyConstraint("key", "window_start", name="pk_web_to_case_counters"),
        Index("ix_web_to_case_counters_window_start", "window_start"),
    )


__all__ = ["CaseAttachment", "CaseEmail", "CaseSolution", "WebToCaseCounter"]
