"""Scorecard KPIs from deal registrations (app/scorecards/kpis.py registry)."""

import uuid
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import DealRegistration
from app.scorecards.kpis import bounds, kpi


@kpi("deals_registered", "Deals registered", unit="count")
async def deals_registered(
    session: AsyncSession, partner_account_id: uuid.UUID, start: date, end: date
) -> int:
    """The partner's registrations submitted in the period (drafts never submitted do not
    count; a resubmission counts once, by its first submission)."""
    first, after = bounds(start, end)
    return await session.scalar(
        select(func.count()).where(
            DealRegistration.partner_account_id == partner_account_id,
            DealRegistration.submitted_at >= first,
            DealRegistration.submitted_at < after,
            DealRegistration.deleted_at.is_(None),
        )
    )
