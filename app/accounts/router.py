"""Accounts, through the resource machinery."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing
from app.accounts import schemas
from app.auth.principal import Principal
from app.kit.resource import Records, Resource, build_router, invalid
from app.models import Account


async def validate(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing: Account | None
) -> None:
    parent_id = values.get("parent_id")
    if parent_id is not None:
        # The parent must be a live account the caller can see; and not below this one.
        cursor, seen = parent_id, set()
        while cursor is not None and cursor not in seen:
            if existing is not None and cursor == existing.id:
                raise invalid("parent_id", "cycle", "An account cannot be its own ancestor")
            seen.add(cursor)
            cursor = await session.scalar(select(Account.parent_id).where(Account.id == cursor))
        if not await records.visible_id(session, principal, parent_id):
            raise invalid("parent_id", "not_found", "No such account")


resource = Resource(
    name="accounts",
    model=Account,
    out=schemas.Account,
    create=schemas.AccountCreate,
    update=schemas.AccountUpdate,
    sharing=Sharing.private,
    filterable=(
        "name",
        "type",
        "industry",
        "rating",
        "parent_id",
        "owner_id",
        "billing_country",
        "billing_state",
        "billing_city",
        "annual_revenue",
        "number_of_employees",
        "external_id",
        "created_at",
        "updated_at",
    ),
    sortable=("name", "created_at", "updated_at"),
    searchable=("name", "account_number", "phone", "website"),
    label="account",
    required=("name", "currency_code"),
    validate=validate,
)
router = build_router(resource)
records: Records = router.records
