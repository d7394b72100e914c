"""The lead resource declaration. A converted lead is read-only."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing
from app.activities.cascades import activities_of
from app.auth.principal import Principal
from app.kit.errors import InvalidStateTransition
from app.kit.resource import Cascade, Records, Resource
from app.leads import schemas
from app.models import Lead


async def validate(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing: Lead | None
) -> None:
    if existing is not None and existing.is_converted:
        raise InvalidStateTransition("A converted lead cannot be changed")


resource = Resource(
    name="leads",
    model=Lead,
    out=schemas.Lead,
    create=schemas.LeadCreate,
    update=schemas.LeadUpdate,
    sharing=Sharing.private,
    filterable=(
        "first_name",
        "last_name",
        "company",
        "email",
        "status",
        "lead_source",
        "rating",
        "industry",
        "owner_id",
        "partner_account_id",
        "score",
        "product_interest",
        "is_converted",
        "country",
        "state",
        "city",
        "annual_revenue",
        "external_id",
        "created_at",
        "updated_at",
        "converted_at",
    ),
    sortable=("last_name", "company", "status", "created_at", "updated_at"),
    searchable=("first_name", "last_name", "company", "email", "phone"),
    label="lead",
    picklists=("status", "lead_source", "rating", "industry"),
    required=("last_name", "company", "status", "do_not_call", "has_opted_out_of_email"),
    validate=validate,
    internal_fields=("score",),
    children=(Cascade("campaign-members", "lead_id"), *activities_of("lead", person=True)),
)
records = Records(resource)
