"""Channel account plans: KPI targets for a partner account over a period. The partner
scorecard compares them with actuals computed from the data (app/scorecards/kpis.py)."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, OwnedMixin, RecordMixin


class PartnerPlan(RecordMixin, OwnedMixin, Base):
    __tablename__ = "partner_plans"

    name: Mapped[str] = mapped_column(String(255))
    partner_account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # KPI name -> target, as a decimal string ({"revenue": "250000.00", "win_rate": "40"}).
    targets: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    description: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("period_start <= period_end", name="period"),
        # One live plan per partner and period: the scorecard of a period finds its targets.
        Index(
            "uq_partner_plans_partner_period",
            "partner_account_id",
            "period_start",
            "period_end",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_partner_plans_period_start", "period_start"),
        Index("ix_partner_plans_created_at", "created_at"),
        Index("ix_partner_plans_updated_at", "updated_at"),
    )


__all__ = ["PartnerPlan"]
