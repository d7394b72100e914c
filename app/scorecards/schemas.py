"""Channel account plans and partner scorecards."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.accounts.schemas import Name
from app.contacts.schemas import RecordOut
from app.scorecards.kpis import Unit

Target = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
Targets = Annotated[
    dict[Annotated[str, StringConstraints(max_length=80)], Target],
    Field(
        max_length=50,
        description='KPI name -> target for the period, e.g. {"revenue": "250000.00", '
        '"win_rate": "40"}; names from GET /api/v1/kpis',
    ),
]


class _PlanFields(BaseModel):
    description: Annotated[str, StringConstraints(max_length=32000)] | None = None


class PartnerPlanCreate(_PlanFields):
    model_config = ConfigDict(extra="forbid")

    name: Name
    partner_account_id: uuid.UUID
    period_start: date
    period_end: date
    targets: Targets = Field(default_factory=dict)
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")


class PartnerPlanUpdate(_PlanFields):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    period_start: date | None = None
    period_end: date | None = None
    targets: Targets | None = Field(None, description="Replaces all the targets")
    owner_id: uuid.UUID | None = None


class PartnerPlan(RecordOut, _PlanFields):
    name: str
    partner_account_id: uuid.UUID
    period_start: date
    period_end: date
    targets: dict[str, Decimal]


class KpiInfo(BaseModel):
    name: str
    label: str
    unit: Unit
    higher_is_better: bool


class KpiList(BaseModel):
    data: list[KpiInfo]


class KpiResult(KpiInfo):
    target: Decimal | None = Field(description="From the plan of the period; null without one")
    actual: Decimal | None = Field(description="Computed from the data; null when undefined")
    attainment_percent: Decimal | None = Field(
        description="actual / target x 100 (target / actual when less is better)"
    )


class Scorecard(BaseModel):
    partner_account_id: uuid.UUID
    partner_name: str
    period_start: date
    period_end: date
    plan_id: uuid.UUID | None = Field(description="The channel account plan with the targets")
    kpis: list[KpiResult]
