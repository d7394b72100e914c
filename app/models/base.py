"""Column helpers shared by every model."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.kit.clock import now
from app.kit.db import Base
from app.kit.ids import new_id


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=now, onupdate=now, server_default=func.now()
    )


class RecordMixin(IdMixin, TimestampMixin):
    """What every business record carries: audit fields, an optimistic-concurrency version and a
    soft-delete marker (the recycle bin)."""

    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The record whose deletion took this one into the recycle bin (an account for its contacts);
    # null for a record deleted on its own. Restoring that record restores exactly these.
    deleted_with: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # Values of the object's custom fields by API name (app/customfields); unset ones are absent.
    custom_fields: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )

    def __init_subclass__(cls, **kw) -> None:
        super().__init_subclass__(**kw)
        table = cls.__dict__.get("__table__")
        if table is None or "deleted_with" not in table.c:
            return
        # Partial indexes hold only recycle-bin rows: free for live rows, and the bin listing,
        # the purge and a cascade restore never scan a table.
        Index(
            f"ix_{table.name}_recycle_bin",
            table.c.deleted_at,
            table.c.id,
            postgresql_where=table.c.deleted_at.is_not(None),
        )
        Index(
            f"ix_{table.name}_deleted_with",
            table.c.deleted_with,
            postgresql_where=table.c.deleted_with.is_not(None),
        )


class OwnedMixin:
    """Records owned by a user; the owner drives record access."""

    @declared_attr
    def owner_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(
            UUID(as_uuid=True), ForeignKey("users.id", ondelete="RESTRICT"), index=True
        )


__all__ = ["Base", "IdMixin", "OwnedMixin", "RecordMixin", "TimestampMixin"]
