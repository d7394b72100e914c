"""Field history per record, and the ordered change feed every write appends to."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin


class FieldHistory(IdMixin, Base):
    """One changed field of one write (who, when, old, new). ``field`` is ``created``,
    ``deleted`` or ``restored`` for those events."""

    __tablename__ = "field_history"

    object_type: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    field: Mapped[str] = mapped_column(String(100))
    old_value: Mapped[Any] = mapped_column(JSONB)
    new_value: Mapped[Any] = mapped_column(JSONB)
    changed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_field_history_record", "record_id", "id"),)


class Change(Base):
    """The change feed. Ordered by (transaction id, seq): only transactions older than every
    running one are served, so a reader never skips a change that commits late."""

    __tablename__ = "changes"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    xid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint")
    )
    object_type: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    op: Mapped[str] = mapped_column(String(20))  # create, update, delete, restore, purge
    changed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Purge entries only: the owner of the record when it was purged, so the feed can still apply
    # record access to a record that no longer exists.
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (Index("ix_changes_xid_seq", "xid", "seq"),)
