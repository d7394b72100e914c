"""Channel account plans: their resource declaration (targets per KPI and period)."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing, is_partner
from app.auth.principal import Principal
from app.kit.errors import Forbidden
from app.kit.resource import Records, Resource, invalid
from app.models import PartnerPlan
from app.scorecards import schemas
from app.scorecards.kpis import KPIS


async def validate_plan(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing: Any
) -> None:
    if is_partner(principal):
        raise Forbidden("Only the vendor may set a partner's targets", code="vendor_only")
    start = values.get("period_start", getattr(existing, "period_start", None))
    end = values.get("period_end", getattr(existing, "period_end", None))
    if start is not None and end is not None and start > end:
        raise invalid("period_end", "before_start", "period_end must not be before period_start")
    targets = values.get("targets")
    if targets is not None:
        unknown = sorted(set(targets) - set(KPIS))
        if unknown:
            raise invalid(
                f"targets.{unknown[0]}",
                "unknown_kpi",
                f"No KPI named '{unknown[0]}' (known: {', '.join(sorted(KPIS))})",
            )
        # JSONB keeps decimals as strings, exact (as custom fields do).
        values["targets"] = {k: str(v) for k, v in targets.items()}


plans_resource = Resource(
    name="partner-plans",
    model=PartnerPlan,
    out=schemas.PartnerPlan,
    create=schemas.PartnerPlanCreate,
    update=schemas.PartnerPlanUpdate,
    sharing=Sharing.public_read,
    filterable=(
        "partner_account_id",
        "period_start",
        "period_end",
        "owner_id",
        "created_at",
        "updated_at",
    ),
    sortable=("period_start", "created_at", "updated_at"),
    searchable=("name",),
    label="partner plan",
    scope_name="partners",
    required=("name", "period_start", "period_end", "targets"),
    validate=validate_plan,
)
plans = Records(plans_resource)
