"""The deal registration resource: list, get, patch (drafts, rejected and expired ones),
delete (only what holds no deal), restore and history from the resource machinery. Create and
the workflow transitions are in router.py / service.py."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing
from app.auth.principal import Principal
from app.deals import matching, policies, schemas
from app.kit.resource import Records, Resource, invalid
from app.models import DealRegistration
from app.products.repository import products


async def validate(
    session: AsyncSession,
    principal: Principal,
    values: dict[str, Any],
    existing: DealRegistration | None,
) -> None:
    # Not a column: whether to submit at once is the create route's business (router.py).
    values.pop("draft", None)
    if existing is not None:
        policies.editable(existing.status)
    product_id = values.get("product_id")
    changed = product_id is not None and (existing is None or product_id != existing.product_id)
    if changed and not await products.visible_id(session, principal, product_id):
        raise invalid("product_id", "not_found", "No such product")
    # The keys conflicts are found by, kept in step with what they come from.
    if "customer_company" in values:
        values["customer_company_normalized"] = matching.normalize_company(
            values["customer_company"]
        )
    if "contact_email" in values or "customer_website" in values:
        email = values.get("contact_email", existing.contact_email if existing else None)
        website = values.get("customer_website", existing.customer_website if existing else None)
        values["customer_email_domain"] = matching.customer_domain(email, website)


resource = Resource(
    name="deal-registrations",
    model=DealRegistration,
    out=schemas.DealRegistration,
    create=schemas.DealRegistrationCreate,
    update=schemas.DealRegistrationUpdate,
    sharing=Sharing.private,
    scope_name="deals",
    filterable=(
        "status",
        "partner_account_id",
        "owner_id",
        "customer_company",
        "customer_company_normalized",
        "customer_email_domain",
        "product_id",
        "opportunity_id",
        "estimated_amount",
        "has_conflicts",
        "submitted_at",
        "decided_at",
        "expires_at",
        "expected_close_date",
        "created_at",
        "updated_at",
    ),
    sortable=("submitted_at", "expires_at", "estimated_amount", "created_at", "updated_at"),
    searchable=("customer_company", "contact_email", "contact_last_name", "product_interest"),
    label="deal registration",
    required=("customer_company", "estimated_amount", "currency_code"),
    validate=validate,
    before_delete=policies.deletable,
    # Which other registration it collides with is the vendor's to see, not the partner's.
    internal_fields=("conflict_of_id",),
)
records = Records(resource)
