"""Org-wide defaults: per object, what internal users may do with records they do not own.

A row per object, read inside the SQL of every access check (``app.access``), so an
administrator's change applies to the next request of every process with nothing to invalidate.
"""

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.clock import now
from app.models.base import Base


class Sharing(enum.StrEnum):
    private = "private"  # owners and the roles above them
    public_read = "public_read"  # everyone reads; owners and the roles above them change
    public_read_write = "public_read_write"  # everyone reads and changes
    # Objects with a master record (line items, campaign members): whoever may read / change
    # the parent may read / change the record (and its owner and the roles above, as ever).
    controlled_by_parent = "controlled_by_parent"


class SharingSetting(Base):
    __tablename__ = "sharing_settings"

    # The object's type as in the change feed (its table name): "leads", "opportunity_line_items".
    object: Mapped[str] = mapped_column(String(60), primary_key=True)
    internal_access: Mapped[str] = mapped_column(String(30))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=now, onupdate=now, server_default=func.now()
    )
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        CheckConstraint(
            "internal_access IN "
            "('private', 'public_read', 'public_read_write', 'controlled_by_parent')",
            name="internal_access_known",
        ),
    )


__all__ = ["Sharing", "SharingSetting"]
