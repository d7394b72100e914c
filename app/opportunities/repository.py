"""Opportunities and their line items: their resource declarations, and the stage history."""

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing
from app.accounts.repository import records as accounts
from app.activities.cascades import activities_of
from app.auth.principal import Principal
from app.campaigns.repository import campaigns
from app.kit import filtering
from app.kit.errors import Forbidden
from app.kit.pagination import decode_cursor, encode_cursor
from app.kit.resource import Cascade, Records, Resource, invalid
from app.models import Opportunity, OpportunityLineItem, OpportunityStageHistory, PriceBookEntry
from app.opportunities import schemas, service
from app.products.repository import entries


async def validate(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing
) -> None:
    await service.apply_stage(session, values, existing)
    # partner_account_id: any enabled partner account (checked by the machinery).
    for field_name, refs, what in (
        ("account_id", accounts, "account"),
        ("primary_campaign_id", campaigns, "campaign"),
    ):
        ref = values.get(field_name)
        unchanged = existing is not None and ref == getattr(existing, field_name)
        if (
            ref is not None
            and not unchanged
            and not await refs.referenceable(session, principal, ref)
        ):
            raise invalid(field_name, "not_found", f"No such {what}")


async def after_write(session: AsyncSession, principal: Principal, row, diffs) -> None:
    service.record_stage_history(session, principal, row, diffs)
    await service.follow_owner(session, row, diffs)


resource = Resource(
    name="opportunities",
    model=Opportunity,
    out=schemas.Opportunity,
    create=schemas.OpportunityCreate,
    update=schemas.OpportunityUpdate,
    sharing=Sharing.private,
    filterable=(
        "name",
        "account_id",
        "amount",
        "currency_code",
        "close_date",
        "stage",
        "probability",
        "forecast_category",
        "type",
        "lead_source",
        "is_closed",
        "is_won",
        "primary_campaign_id",
        "partner_account_id",
        "owner_id",
        "external_id",
        "created_at",
        "updated_at",
    ),
    sortable=("name", "amount", "close_date", "stage", "probability", "created_at", "updated_at"),
    searchable=("name", "next_step"),
    label="opportunity",
    picklists=("stage", "type", "lead_source"),
    required=("name", "close_date", "stage", "currency_code"),
    validate=validate,
    scope_name="opportunities",
    after_write=after_write,
    internal_fields=("forecast_category",),
    children=(
        Cascade("opportunity-line-items", "opportunity_id"),
        *activities_of("opportunity"),
    ),
)
records = Records(resource)


async def stage_history(
    session: AsyncSession,
    principal: Principal,
    record_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[OpportunityStageHistory], str | None]:
    """A page of an opportunity the principal may read's stage history, oldest first."""
    await records.get(session, principal, record_id)
    H = OpportunityStageHistory
    stmt = select(H).where(H.opportunity_id == record_id)
    if cursor:
        stmt = stmt.where(H.id > filtering.coerce(H.id, "cursor", str(decode_cursor(cursor)[0])))
    rows = list((await session.scalars(stmt.order_by(H.id).limit(limit + 1))).all())
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor([str(rows[-1].id)])
    return rows, None


CENT = Decimal("0.01")


async def validate_line_item(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing
) -> None:
    if existing is None:
        opp_id = values["opportunity_id"]
        if not await records.visible_id(session, principal, opp_id):
            raise invalid("opportunity_id", "not_found", "No such opportunity")
        if not await records.writable_id(session, principal, opp_id):
            raise Forbidden(
                "You may see this opportunity but not change it", code="insufficient_access"
            )
        opp = await session.get(Opportunity, opp_id)
        entry_id = values["price_book_entry_id"]
        entry = await session.get(PriceBookEntry, entry_id)
        if entry is None or not await entries.visible_id(session, principal, entry_id):
            raise invalid("price_book_entry_id", "not_found", "No such price book entry")
        if not entry.is_active:
            raise invalid("price_book_entry_id", "inactive", "The price book entry is inactive")
        if entry.currency_code != opp.currency_code:
            raise invalid(
                "price_book_entry_id",
                "currency_mismatch",
                f"The entry is in {entry.currency_code}, the opportunity in {opp.currency_code}",
            )
        # The line item carries the opportunity's owner: record access follows the opportunity.
        values["owner_id"] = opp.owner_id
        values["product_id"] = entry.product_id
        if values.get("unit_price") is None:
            values["unit_price"] = entry.unit_price
    elif "unit_price" in values and values["unit_price"] is None:
        raise invalid("unit_price", "required", "unit_price cannot be null")
    merged = {
        f: values[f] if f in values else getattr(existing, f)
        for f in ("quantity", "unit_price", "discount")
    }
    discount = merged["discount"] or Decimal(0)
    total = merged["quantity"] * merged["unit_price"] * (Decimal(100) - discount) / Decimal(100)
    values["total_price"] = total.quantize(CENT, rounding=ROUND_HALF_UP)


line_items_resource = Resource(
    name="opportunity-line-items",
    model=OpportunityLineItem,
    out=schemas.LineItem,
    create=schemas.LineItemCreate,
    update=schemas.LineItemUpdate,
    sharing=Sharing.private,
    filterable=(
        "opportunity_id",
        "price_book_entry_id",
        "product_id",
        "quantity",
        "unit_price",
        "total_price",
        "owner_id",
        "created_at",
        "updated_at",
    ),
    sortable=("total_price", "created_at", "updated_at"),
    label="opportunity line item",
    required=("quantity",),  # and unit_price, which defaults to the entry's price
    validate=validate_line_item,
    scope_name="opportunities",
    parent=("opportunities", "opportunity_id"),
)
line_items = Records(line_items_resource)
