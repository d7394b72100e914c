"""What follows an opportunity write: stage defaults, stage history, line item owners."""

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.kit.resource import invalid
from app.models import Opportunity, OpportunityLineItem, OpportunityStageHistory
from app.picklists.cache import picklists

TRACKED = ("stage", "amount", "probability", "close_date")


async def apply_stage(
    session: AsyncSession, values: dict[str, Any], existing: Opportunity | None
) -> None:
    """Fill probability and forecast category from the stage's picklist value unless given;
    derive is_closed and is_won from it. (The resource machinery has already refused a stage
    that is not an active value of the picklist.)"""
    if existing is not None and ("stage" not in values or values["stage"] == existing.stage):
        return
    name = values.get("stage")
    snap = await picklists.get(session)
    stage = snap.entry("opportunities", "stage", name) if name is not None else None
    if stage is None or stage.probability is None:
        raise invalid("stage", "invalid_picklist_value", f"Unknown stage '{name}'")
    if values.get("probability") is None:
        values["probability"] = stage.probability
    if values.get("forecast_category") is None:
        values["forecast_category"] = stage.forecast_category
    values["is_closed"] = bool(stage.is_closed)
    values["is_won"] = bool(stage.is_won)


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
