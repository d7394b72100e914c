"""Activities: tasks (to do), events (calendar) and notes, each attached to records.

``what`` is the related business record (account, opportunity, campaign, ...) and ``who`` the
person (lead or contact); both are polymorphic (type + id), so they are indexed, not foreign keys.
"""

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Index, String, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, OwnedMixin, RecordMixin


class RelatedMixin:
    what_type: Mapped[str | None] = mapped_column(String(40))
    what_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    who_type: Mapped[str | None] = mapped_column(String(40))
    who_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)


class Task(RecordMixin, OwnedMixin, RelatedMixin, Base):
    __tablename__ = "tasks"

    subject: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(
        String(40), default="Not Started", server_default="Not Started"
    )
    priority: Mapped[str] = mapped_column(String(20), default="Normal", server_default="Normal")
    due_date: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Salesforce's TaskSubtype: Task, Call, Email, or List Email (a mass email's log entry).
    subtype: Mapped[str] = mapped_column(String(20), default="Task", server_default="Task")

    __table_args__ = (
        Index("ix_tasks_subject", "subject"),
        Index("ix_tasks_status", "status"),
        Index("ix_tasks_priority", "priority"),
        Index("ix_tasks_due_date", "due_date"),
        Index("ix_tasks_created_at", "created_at"),
        Index("ix_tasks_updated_at", "updated_at"),
    )


class Event(RecordMixin, OwnedMixin, RelatedMixin, Base):
    __tablename__ = "events"

    subject: Mapped[str] = mapped_column(String(255))
    start_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    is_all_day: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    location: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_events_subject", "subject"),
        Index("ix_events_start_at", "start_at"),
        Index("ix_events_end_at", "end_at"),
        Index("ix_events_created_at", "created_at"),
        Index("ix_events_updated_at", "updated_at"),
    )


class Note(RecordMixin, OwnedMixin, Base):
    __tablename__ = "notes"

    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str | None] = mapped_column(Text)
    parent_type: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)

    __table_args__ = (
        Index("ix_notes_title", "title"),
        Index("ix_notes_created_at", "created_at"),
        Index("ix_notes_updated_at", "updated_at"),
    )
