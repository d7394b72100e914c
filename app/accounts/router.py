"""Accounts, through the resource machinery."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing, read_clause
from app.accounts import schemas
from app.auth.principal import Principal
from app.kit.resource import Resource, build_router, invalid
from app.models import Account, User

NOT_NULL = ("name", "owner_id", "currency_code")


async def validate(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing: Account | None
) -> None:
    for name in NOT_NULL:
        if name in values and values[name] is None:
            raise invalid(name, "required", f"{name} cannot be null")
    owner_id = values.get("owner_id")
    if owner_id is not None:
        active = await session.scalar(
            select(User.is_active).where(User.id == owner_id, User.kind == "internal")
        )
        if not active:
            raise invalid("owner_id", "not_found", "The owner must be an active internal user")
    parent_id = values.get("parent_id")
    if parent_id is not None:
        # The parent must be a live account the caller can see; and not below this one.
        cursor, seen = parent_id, set()
        while cursor is not None and cursor not in seen:
            if existing is not None and cursor == existing.id:
                raise invalid("parent_id", "cycle", "An account cannot be its own ancestor")
            seen.add(cursor)
            cursor = await session.scalar(select(Account.parent_id).where(Account.id == cursor))
        visible = await session.scalar(
            select(Account.id).where(
                Account.id == parent_id,
                Account.deleted_at.is_(None),
                read_clause(Account, principal, resource.sharing),
            )
        )
        if visible is None:
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
    validate=validate,
)
router = build_router(resource)
