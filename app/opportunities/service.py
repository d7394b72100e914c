"""What follows an opportunity write: stage defaults, stage history, line item owners."""

from typing import Any

from sqlalchemy import update

from app.kit import clock
from app.kit.resource import invalid
from app.models import Opportunity, OpportunityLineItem, OpportunityStageHistory
from app.opportunities.stages import STAGES

TRACKED = ("stage", "amount", "probability", "close_date")


def apply_stage(values: dict[str, Any], existing: Opportunity | None) -> None:
    """Check the stage; fill probability and forecast category from it unless given; derive
    is_closed and is_won."""
    if existing is not None and ("stage" not in values or values["stage"] == existing.stage):
        return
    name = values.get("stage")
    stage = STAGES.get(name) if name is not None else None
    if stage is None:
        known = ", ".join(STAGES)
        raise invalid("stage", "invalid_choice", f"Unknown stage '{name}'; one of: {known}")
    if values.get("probability") is None:
        values["probability"] = stage.probability
    if values.get("forecast_category") is None:
        values["forecast_category"] = stage.forecast_category
    values["is_closed"] = stage.is_closed
    values["is_won"] = stage.is_won


def record_stage_history(session, principal, row: Opportunity, diffs: dict | None) -> None:
    if diffs is not None and not any(f in diffs for f in TRACKED):
        return
    session.add(
        OpportunityStageHistory(
            opportunity_id=row.id,
            stage=row.stage,
            amount=row.amount,
            probability=row.probability,
            forecast_category=row.forecast_category,
            close_date=row.close_date,
            changed_by=principal.user_id,
            changed_at=clock.now(),
        )
    )


async def follow_owner(session, row: Opportunity, diffs: dict | None) -> None:
    # Line items carry the opportunity's owner so that record access follows the opportunity.
    if diffs and "owner_id" in diffs:
        await session.execute(
            update(OpportunityLineItem)
            .where(OpportunityLineItem.opportunity_id == row.id)
            .values(owner_id=row.owner_id)
        )
