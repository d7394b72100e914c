"""Custom field definitions. The values live with each record, in its ``custom_fields`` JSONB
column (see ``RecordMixin``); a definition says which keys an object accepts and of what type."""

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Enum, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.accounts import Account
from app.models.base import Base, IdMixin, TimestampMixin
from app.models.opportunities import Opportunity
from app.models.people import Contact, Lead


class CustomFieldType(enum.StrEnum):
    text = "text"
    number = "number"
    currency = "currency"
    date = "date"
    boolean = "boolean"
    picklist = "picklist"


class CustomField(IdMixin, TimestampMixin, Base):
    """One custom field of one object (``object`` is the resource name, e.g. ``leads``).

    A deleted field (``deleted_at`` set) is hidden, with its values, and can be restored for 15
    days; its name stays taken until it is erased, which also removes its values from records.
    """

    __tablename__ = "custom_fields"

    object: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(80))
    type: Mapped[CustomFieldType] = mapped_column(
        Enum(CustomFieldType, name="custom_field_type", native_enum=False, length=20)
    )
    required: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    picklist_values: Mapped[list[Any] | None] = mapped_column(JSONB)
    max_length: Mapped[int | None] = mapped_column(Integer)
    precision: Mapped[int | None] = mapped_column(Integer)
    scale: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (Index("uq_custom_fields_object_name", "object", "name", unique=True),)


# Filters on custom fields compare with ``custom_fields @> '{"name": value}'`` for equality, which a
# GIN index with jsonb_path_ops serves. Only the big tables carry one (it costs on every write).
for _model in (Account, Contact, Lead, Opportunity):
    _table = _model.__table__
    Index(
        f"ix_{_table.name}_custom_fields",
        _table.c.custom_fields,
        postgresql_using="gin",
        postgresql_ops={"custom_fields": "jsonb_path_ops"},
    )
