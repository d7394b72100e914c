"""The KPI registry: each KPI is a name, how to show it and an async function computing its
actual for a partner account and a period (dates inclusive) with SQL over the data.

Other packages add theirs where their data lives, e.g. in ``app/deal_registrations``::

    from app.scorecards.kpis import kpi

    @kpi("deals_registered", "Deals registered", unit="count")
    async def deals_registered(session, partner_account_id, start, end):
        return await session.scalar(select(func.count()).where(...))

A plan may set targets only for registered KPIs; the scorecard shows every registered KPI.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Lead, Opportunity

Unit = Literal["currency", "count", "percent", "hours"]
Compute = Callable[[AsyncSession, uuid.UUID, date, date], Awaitable[Decimal | int | None]]


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str
    unit: Unit
    compute: Compute
    # False for KPIs where less is better (response time): attainment is then target / actual.
    higher_is_better: bool = True


KPIS: dict[str, Kpi] = {}


def register(item: Kpi) -> Kpi:
    if item.name in KPIS and KPIS[item.name].compute is not item.compute:
        raise ValueError(f"KPI {item.name!r} is already registered")
    KPIS[item.name] = item
    return item


def kpi(
    name: str, label: str, *, unit: Unit, higher_is_better: bool = True
) -> Callable[[Compute], Compute]:
    """Register the decorated function as the KPI ``name``."""

    def decorate(fn: Compute) -> Compute:
        register(Kpi(name, label, unit, fn, higher_is_better))
        return fn

    return decorate


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """A period of dates as [start, day after end) in UTC, for timestamp columns."""
    return (
        datetime.combine(start, time.min, UTC),
        datetime.combine(end + timedelta(days=1), time.min, UTC),
    )


def _closed_in_period(partner_account_id: uuid.UUID, start: date, end: date):
    return (
        Opportunity.partner_account_id == partner_account_id,
        Opportunity.is_closed.is_(True),
        Opportunity.close_date.between(start, end),
        Opportunity.deleted_at.is_(None),
    )


@kpi("revenue", "Revenue (closed won)", unit="currency")
async def revenue(session: AsyncSession, partner_account_id: uuid.UUID, start: date, end: date):
    """Sum of the amounts of the partner's opportunities won with a close date in the period."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Opportunity.amount), 0)).where(
            *_closed_in_period(partner_account_id, start, end), Opportunity.is_won.is_(True)
        )
    )
    return Decimal(total).quantize(Decimal("0.01"))


@kpi("win_rate", "Win rate", unit="percent")
async def win_rate(session: AsyncSession, partner_account_id: uuid.UUID, start: date, end: date):
    """Won / closed (won or lost) of the partner's opportunities closed in the period, in %;
    none when nothing closed."""
    won, closed = (
        await session.execute(
            select(
                func.count().filter(Opportunity.is_won.is_(True)),
                func.count(),
            ).where(*_closed_in_period(partner_account_id, start, end))
        )
    ).one()
    if not closed:
        return None
    return (Decimal(won) * 100 / Decimal(closed)).quantize(Decimal("0.01"))


@kpi("leads_converted", "Leads converted", unit="count")
async def leads_converted(
    session: AsyncSession, partner_account_id: uuid.UUID, start: date, end: date
):
    """The partner's leads converted in the period."""
    first, after = bounds(start, end)
    return await session.scalar(
        select(func.count()).where(
            Lead.partner_account_id == partner_account_id,
            Lead.is_converted.is_(True),
            Lead.converted_at >= first,
            Lead.converted_at < after,
            Lead.deleted_at.is_(None),
        )
    )


def attainment(item: Kpi, target: Decimal | None, actual: Decimal | None) -> Decimal | None:
    """Actual against target in %: actual / target, or target / actual when less is better."""
    if target is None or actual is None:
        return None
    if item.higher_is_better:
        ratio = actual / target if target else None
    else:
        ratio = target / actual if actual else (Decimal(1) if not target else None)
    return None if ratio is None else (ratio * 100).quantize(Decimal("0.1"))


__all__ = ["KPIS", "Kpi", "attainment", "bounds", "kpi", "register"]
