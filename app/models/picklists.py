"""Picklist values: the allowed values of a record's picklist fields (lead status, opportunity
stage, industry, ...), as data an administrator maintains rather than constants in code.

One row per value of one value set, named by the object and field that own it (``leads`` /
``status``). A few standard value sets are shared by several fields, as in Salesforce (lead
source: leads, contacts, opportunities); see ``app.picklists.cache.SHARED``. Per-value attributes
are columns, null where the field does not use them: an opportunity stage's default probability,
forecast category, closed and won flags; a lead status's converted flag.
"""

import uuid

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin
from app.models.opportunities import ForecastCategory, _forecast_category


class PicklistValue(IdMixin, TimestampMixin, Base):
    __tablename__ = "picklist_values"

    # The value set's owner: the object as in the API path with underscores ("leads") and the
    # field's API name ("status").
    object: Mapped[str] = mapped_column(String(60))
    field: Mapped[str] = mapped_column(String(60))
    # What records store and the API reads and writes; never changes once created.
    value: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(255))
    sort_order: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Inactive values stay on the records that have them but are refused on new writes.
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # At most one per value set (a partial unique index); new records get it when the field is
    # left out.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    probability: Mapped[int | None] = mapped_column(Integer)
    forecast_category: Mapped[ForecastCategory | None] = mapped_column(_forecast_category())
    is_closed: Mapped[bool | None] = mapped_column(Boolean)
    is_won: Mapped[bool | None] = mapped_column(Boolean)
    is_converted: Mapped[bool | None] = mapped_column(Boolean)
    # Case statuses: waiting on the customer (escalation clocks stop; app/cases).
    is_waiting: Mapped[bool | None] = mapped_column(Boolean)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        UniqueConstraint("object", "field", "value"),
        Index(
            "uq_picklist_values_default",
            "object",
            "field",
            unique=True,
            postgresql_where=text("is_default"),
        ),
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability_range"),
        CheckConstraint("NOT is_won OR is_closed", name="won_is_closed"),
    )


__all__ = ["PicklistValue"]
