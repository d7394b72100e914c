"""Scorecard KPIs from lead offers (app/scorecards/kpis.py registry)."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import LeadOffer
from app.models.distribution import OfferStatus
from app.scorecards.kpis import bounds, kpi


@kpi("leads_accepted", "Leads accepted", unit="count")
async def leads_accepted(
    session: AsyncSession, partner_account_id: uuid.UUID, start: date, end: date
) -> int:
    """Offers the partner accepted in the period."""
    first, after = bounds(start, end)
    return await session.scalar(
        select(func.count()).where(
            LeadOffer.partner_account_id == partner_account_id,
            LeadOffer.status == OfferStatus.accepted,
            LeadOffer.responded_at >= first,
            LeadOffer.responded_at < after,
        )
    )


@kpi("offer_response_time", "Response time to lead offers", unit="hours", higher_is_better=False)
async def offer_response_time(
    session: AsyncSession, partner_account_id: uuid.UUID, start: date, end: date
) -> Decimal | None:
    """Average hours from offer to answer (accept or decline) of the offers the partner
    answered in the period; an offer left to expire counts its whole time limit, so ignoring
    offers never looks fast. None when the partner had no offer end in the period."""
    first, after = bounds(start, end)
    ended = func.coalesce(LeadOffer.responded_at, LeadOffer.expires_at)
    hours = await session.scalar(
        select(func.avg(func.extract("epoch", ended - LeadOffer.offered_at) / 3600)).where(
            LeadOffer.partner_account_id == partner_account_id,
            LeadOffer.status.in_([OfferStatus.accepted, OfferStatus.declined, OfferStatus.expired]),
            ended >= first,
            ended < after,
        )
    )
    return None if hours is None else Decimal(hours).quantize(Decimal("0.01"))
