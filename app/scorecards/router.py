"""Partner scorecards over HTTP: channel account plans (`/api/v1/partner-plans`, the resource
machinery), `GET /api/v1/partners/{id}/scorecard`, `GET /api/v1/partner-plans/{id}/scorecard`
and the KPI catalogue `GET /api/v1/kpis`."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import Query

from app.auth.principal import Principal, require
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.resource import build_router
from app.kit.routing import Router
from app.scorecards import schemas, service
from app.scorecards.kpis import KPIS
from app.scorecards.repository import plans

__all__ = ["kpis_router", "plans_router", "scorecards_router"]

Reader = Annotated[Principal, require("partners:read")]

scorecards_router = Router(prefix="/api/v1/partners", tags=["partners"])
kpis_router = Router(prefix="/api/v1/kpis", tags=["kpis"])
plans_router = build_router(plans)
# A partner's scorecard and a plan's answer alike.
SCORECARD = {
    "response_model": schemas.Scorecard,
    "responses": problem_responses(401, 403, 404, 422),
}


@scorecards_router.get(
    "/{account_id}/scorecard", name="scorecard", summary="A partner's scorecard", **SCORECARD
)
async def partner_scorecard(
    session: Session,
    principal: Reader,
    account_id: uuid.UUID,
    period_start: Annotated[date | None, Query(description="First day of the period")] = None,
    period_end: Annotated[date | None, Query(description="Last day of the period")] = None,
):
    """Every KPI for the partner over the period (dates inclusive): the target from the
    partner's channel account plan for exactly that period (null without one), the actual
    computed from the data and the attainment in %. Without a period, the period of the plan
    that covers today. Partners see their own scorecard only; the vendor sees every partner's."""
    return await service.for_partner(session, principal, account_id, period_start, period_end)


@plans_router.get(
    "/{record_id}/scorecard",
    name="scorecard",
    summary="The scorecard of a channel account plan",
    **SCORECARD,
)
async def plan_scorecard(session: Session, principal: Reader, record_id: uuid.UUID):
    """The plan's targets against the actuals of its partner over its period."""
    return await service.for_plan(session, principal, record_id)


@kpis_router.get(
    "",
    name="list",
    summary="List the KPIs a plan can target",
    response_model=schemas.KpiList,
    responses=problem_responses(401, 403),
)
async def list_kpis(principal: Reader):
    return {
        "data": [
            schemas.KpiInfo(
                name=k.name, label=k.label, unit=k.unit, higher_is_better=k.higher_is_better
            )
            for k in KPIS.values()
        ]
    }
