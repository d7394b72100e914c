"""Service: cases, their comments, queues of agents, assignment rules, business hours and
escalation rules (app/cases).

Rules keep their ordered entries as JSONB (validated by the API schemas): an entry is read and
written with its rule, never on its own, and the order is the list's order.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, OwnedMixin, RecordMixin

# Human case numbers ("00001001"), from a sequence: unique, never reused, gaps allowed.
CASE_NUMBER_SEQ = Sequence("case_number_seq", start=1001, metadata=Base.metadata)


def _jsonb_list() -> Any:
    return mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))


class Queue(RecordMixin, OwnedMixin, Base):
    """A queue of agents. Its owner (the supervisor) owns the cases waiting in it."""

    __tablename__ = "queues"

    name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(320))
    description: Mapped[str | None] = mapped_column(Text)
    # Member agents (user ids as strings), in round-robin order.
    member_ids: Mapped[list[str]] = _jsonb_list()
    # Round robin: the member who got the last case.
    last_assigned_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class BusinessHours(RecordMixin, OwnedMixin, Base):
    __tablename__ = "business_hours"

    name: Mapped[str] = mapped_column(String(80))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # {"monday": [{"start": "09:00", "end": "17:00"}], ...}; a missing day is closed.
    hours: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    # ISO dates (in the time zone) when the business is closed all day.
    holidays: Mapped[list[str]] = _jsonb_list()


class CaseAssignmentRule(RecordMixin, OwnedMixin, Base):
    __tablename__ = "case_assignment_rules"

    name: Mapped[str] = mapped_column(String(80))
    # At most one active rule (activating one deactivates the others, as in Salesforce).
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    entries: Mapped[list[dict[str, Any]]] = _jsonb_list()


class CaseEscalationRule(RecordMixin, OwnedMixin, Base):
    __tablename__ = "case_escalation_rules"

    name: Mapped[str] = mapped_column(String(80))
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    entries: Mapped[list[dict[str, Any]]] = _jsonb_list()


class Case(RecordMixin, OwnedMixin, Base):
    __tablename__ = "cases"

    case_number: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(80), default="New", server_default="New")
    priority: Mapped[str | None] = mapped_column(String(40))
    origin: Mapped[str | None] = mapped_column(String(40))
    type: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(String(80))
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("products.id", ondelete="SET NULL")
    )
    language: Mapped[str | None] = mapped_column(String(16))
    supplied_email: Mapped[str | None] = mapped_column(String(320))
    supplied_name: Mapped[str | None] = mapped_column(String(120))
    supplied_phone: Mapped[str | None] = mapped_column(String(40))
    # The partner that submitted the case (or whose user owns it): shared with it (app/access).
    partner_account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    # Set while the case waits in a queue (its owner is then the queue's owner).
    queue_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("queues.id", ondelete="SET NULL"), index=True
    )
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_escalated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Escalation clock (app/cases/escalation.py): the entry that applies, when its targets are
    # due, and the business time spent waiting on the customer (which does not count).
    escalation_rule_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("case_escalation_rules.id", ondelete="SET NULL")
    )
    escalation_entry: Mapped[int | None] = mapped_column(Integer)
    first_response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_response_escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The customer's answer to the satisfaction survey sent when the case closed
    # (app/satisfaction): once, through the signed link.
    satisfaction_score: Mapped[int | None] = mapped_column(SmallInteger)
    satisfaction_comment: Mapped[str | None] = mapped_column(Text)
    satisfaction_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    satisfaction_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("satisfaction_score BETWEEN 1 AND 5", name="satisfaction_score"),
        Index("uq_cases_case_number", "case_number", unique=True),
        Index("ix_cases_status", "status"),
        Index("ix_cases_created_at", "created_at"),
        Index("ix_cases_updated_at", "updated_at"),
    )


class CaseComment(IdMixin, Base):
    __tablename__ = "case_comments"

    case_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("cases.id", ondelete="CASCADE")
    )
    body: Mapped[str] = mapped_column(Text)
    # Public comments are visible to partners and the customer; internal ones only to the vendor.
    is_public: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )

    __table_args__ = (Index("ix_case_comments_case_id_id", "case_id", "id"),)


__all__ = [
    "CASE_NUMBER_SEQ",
    "BusinessHours",
    "Case",
    "CaseAssignmentRule",
    "CaseComment",
    "CaseEscalationRule",
    "Queue",
]
