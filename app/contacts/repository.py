"""Contacts, through the resource machinery."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing
from app.accounts.repository import records as accounts
from app.activities.cascades import activities_of
from app.auth.principal import Principal
from app.contacts import schemas
from app.kit.resource import Cascade, Records, Resource, invalid
from app.models import Contact


async def validate(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing: Contact | None
) -> None:
    account_id = values.get("account_id")
    if account_id is not None and not await accounts.referenceable(session, principal, account_id):
        raise invalid("account_id", "not_found", "No such account")
    boss = values.get("reports_to_id")
    if boss is not None:
        if existing is not None and boss == existing.id:
            raise invalid("reports_to_id", "invalid", "A contact cannot report to themselves")
        if not await records.visible_id(session, principal, boss):
            raise invalid("reports_to_id", "not_found", "No such contact")


resource = Resource(
    name="contacts",
    model=Contact,
    out=schemas.Contact,
    create=schemas.ContactCreate,
    update=schemas.ContactUpdate,
    sharing=Sharing.private,
    filterable=(
        "first_name",
        "last_name",
        "email",
        "account_id",
        "owner_id",
        "title",
        "department",
        "lead_source",
        "city",
        "country",
        "external_id",
        "created_at",
        "updated_at",
    ),
    sortable=("last_name", "email", "created_at", "updated_at"),
    searchable=("first_name", "last_name", "email", "phone"),
    label="contact",
    picklists=("lead_source",),
    required=("last_name", "do_not_call", "has_opted_out_of_email"),
    validate=validate,
    children=(Cascade("campaign-members", "contact_id"), *activities_of("contact", person=True)),
)
records = Records(resource)
