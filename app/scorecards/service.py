"""The partner scorecard: each registered KPI's target (from the plan of the period), actual
(app/scorecards/kpis.py) and attainment."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import is_partner
from app.auth.principal import Principal
from app.kit import clock
from app.kit.errors import NotFound
from app.kit.resource import invalid
from app.models import Account, PartnerPlan
from app.scorecards import schemas
from app.scorecards.kpis import KPIS, attainment
from app.scorecards.repository import plans


async def _partner(session: AsyncSession, principal: Principal, account_id: uuid.UUID) -> Account:
    """A partner account the principal may see the scorecard of: partners their own only, the
    vendor's people any."""
    if is_partner(principal) and account_id != principal.partner_account_id:
        raise NotFound("No such partner account")
    account = await session.scalar(
        select(Account).where(
            Account.id == account_id, Account.is_partner.is_(True), Account.deleted_at.is_(None)
        )
    )
    if account is None:
        raise NotFound("No such partner account")
    return account


def _plans_of(account_id: uuid.UUID):
    return select(PartnerPlan).where(
        PartnerPlan.partner_account_id == account_id, PartnerPlan.deleted_at.is_(None)
    )


async def compute(
    session: AsyncSession,
    account: Account,
    start: date,
    end: date,
    plan: PartnerPlan | None,
) -> schemas.Scorecard:
    targets = plan.targets if plan is not None else {}
    results = []
    for item in KPIS.values():
        actual = await item.compute(session, account.id, start, end)
        actual = None if actual is None else Decimal(actual)
        target = Decimal(targets[item.name]) if item.name in targets else None
        results.append(
            schemas.KpiResult(
                name=item.name,
                label=item.label,
                unit=item.unit,
                higher_is_better=item.higher_is_better,
                target=target,
                actual=actual,
                attainment_percent=attainment(item, target, actual),
            )
        )
    return schemas.Scorecard(
        partner_account_id=account.id,
        partner_name=account.name,
        period_start=start,
        period_end=end,
        plan_id=plan.id if plan is not None else None,
        kpis=results,
    )


async def for_partner(
    session: AsyncSession,
    principal: Principal,
    account_id: uuid.UUID,
    start: date | None,
    end: date | None,
) -> schemas.Scorecard:
    account = await _partner(session, principal, account_id)
    if start is None and end is None:
        today = clock.now().date()
        plan = await session.scalar(
            _plans_of(account.id)
            .where(PartnerPlan.period_start <= today, PartnerPlan.period_end >= today)
            .order_by(PartnerPlan.period_start.desc(), PartnerPlan.id.desc())
            .limit(1)
        )
        if plan is None:
            raise invalid(
                "period_start",
                "required",
                "No plan of this partner covers today: give period_start and period_end",
            )
        return await compute(session, account, plan.period_start, plan.period_end, plan)
    if start is None or end is None:
        missing = "period_start" if start is None else "period_end"
        raise invalid(missing, "required", "Give both period_start and period_end, or neither")
    if start > end:
        raise invalid("period_end", "before_start", "period_end must not be before period_start")
    plan = await session.scalar(
        _plans_of(account.id).where(
            PartnerPlan.period_start == start, PartnerPlan.period_end == end
        )
    )
    return await compute(session, account, start, end, plan)


async def for_plan(
    session: AsyncSession, principal: Principal, plan_id: uuid.UUID
) -> schemas.Scorecard:
    row = await plans.get(session, principal, plan_id)
    account = await _partner(session, principal, row.partner_account_id)
    return await compute(session, account, row.period_start, row.period_end, row)
