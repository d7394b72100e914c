"""The job queue, periodic schedules and the event outbox (app/jobs, app/events)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Job(Base):
    """One unit of background work. ``queued`` until due (``run_at``), ``running`` while a worker
    holds its lease (``locked_until``, renewed while it runs), deleted when done, ``failed`` when
    it ran out of attempts (kept for inspection)."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    status: Mapped[str] = mapped_column(String(20), server_default="queued")
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer)
    dedupe_key: Mapped[str | None] = mapped_column(String(300))
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'failed')", name="status"),
        Index("ix_jobs_due", "run_at", "id", postgresql_where=text("status = 'queued'")),
        Index("ix_jobs_lease", "locked_until", postgresql_where=text("status = 'running'")),
        # At most one queued job per key; enqueueing again only brings it forward.
        Index(
            "uq_jobs_dedupe_key",
            "dedupe_key",
            unique=True,
            postgresql_where=text("status = 'queued' AND dedupe_key IS NOT NULL"),
        ),
    )


class JobSchedule(Base):
    """When each periodic job is next due. The worker that moves ``next_run_at`` on (row locked,
    ``SKIP LOCKED``) enqueues the run in the same transaction: one run per period, however many
    workers there are."""

    __tablename__ = "job_schedules"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DomainEvent(Base):
    """Named workflow events (``lead.converted`` ...), written in the business transaction and
    ordered like the change feed by (transaction id, seq). Record events (created, updated, ...)
    are the ``changes`` rows themselves."""

    __tablename__ = "domain_events"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    xid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint")
    )
    event_type: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_domain_events_xid_seq", "xid", "seq"),)


class EventCursor(Base):
    """How far the dispatcher has fanned out each stream, as a (xid, seq) position."""

    __tablename__ = "event_cursors"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    xid: Mapped[int] = mapped_column(BigInteger, server_default="0")
    seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
