"""Accounts, through the resource machinery."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing
from app.accounts import schemas
from app.activities.cascades import activities_of
from app.auth.principal import Principal
from app.kit.resource import Cascade, Records, Resource
from app.models import Account


async def validate(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing: Account | None
) -> None:
    if values.get("parent_id") is not None:
        await records.check_parent(session, principal, values["parent_id"], existing)


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
        "is_partner",
        "created_at",
        "updated_at",
    ),
    sortable=("name", "created_at", "updated_at"),
    searchable=("name", "account_number", "phone", "website"),
    label="account",
    picklists=("industry", "rating", "ownership"),
    required=("name", "currency_code"),
    validate=validate,
    children=(
        Cascade("contacts", "account_id"),
        Cascade("opportunities", "account_id"),
        *activities_of("account"),
    ),
)
records = Records(resource)
