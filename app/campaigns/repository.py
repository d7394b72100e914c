"""Campaigns (a hierarchy) and campaign members, through the resource machinery.

Everyone reads campaigns (public_read) so that opportunities can name their source campaign;
the owner and the users above them change them. A member carries its campaign's owner, so its
record access follows the campaign's owner (kept in step when the campaign changes hands).
"""

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing
from app.activities.cascades import activities_of
from app.auth.principal import Principal
from app.campaigns import schemas
from app.contacts.repository import records as contacts
from app.kit import clock
from app.kit.errors import Conflict, Forbidden
from app.kit.resource import Cascade, Records, Resource, invalid
from app.leads.repository import records as leads
from app.models import Campaign, CampaignMember

# Member statuses that count as a response (a picklist feature may make this configurable).
RESPONDED_STATUSES = frozenset({"Responded"})


async def validate_campaign(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing
) -> None:
    parent_id = values.get("parent_id")
    if parent_id is None or (existing is not None and parent_id == existing.parent_id):
        return
    await campaigns.check_parent(session, principal, parent_id, existing)


async def campaign_written(session: AsyncSession, principal: Principal, row, diffs) -> None:
    if diffs and "owner_id" in diffs:
        await session.execute(
            update(CampaignMember)
            .where(CampaignMember.campaign_id == row.id)
            .values(owner_id=row.owner_id)
        )


campaigns_resource = Resource(
    name="campaigns",
    model=Campaign,
    out=schemas.Campaign,
    create=schemas.CampaignCreate,
    update=schemas.CampaignUpdate,
    sharing=Sharing.public_read,
    filterable=(
        "name",
        "type",
        "status",
        "start_date",
        "end_date",
        "parent_id",
        "is_active",
        "owner_id",
        "created_at",
        "updated_at",
    ),
    sortable=("name", "start_date", "end_date", "created_at", "updated_at"),
    searchable=("name",),
    label="campaign",
    picklists=("type", "status"),
    required=("name", "is_active"),
    validate=validate_campaign,
    scope_name="campaigns",
    after_write=campaign_written,
    children=(Cascade("campaign-members", "campaign_id"), *activities_of("campaign")),
)
campaigns = Records(campaigns_resource)


async def validate_member(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing
) -> None:
    if existing is None:
        if (values.get("lead_id") is None) == (values.get("contact_id") is None):
            field_name = "contact_id" if values.get("lead_id") is not None else "lead_id"
            raise invalid(field_name, "exactly_one", "Give exactly one of lead_id and contact_id")
        campaign_id = values["campaign_id"]
        if not await campaigns.visible_id(session, principal, campaign_id):
            raise invalid("campaign_id", "not_found", "No such campaign")
        if not await campaigns.writable_id(session, principal, campaign_id):
            raise Forbidden(
                "You may see this campaign but not change it", code="insufficient_access"
            )
        for field_name, refs, what, column in (
            ("lead_id", leads, "lead", CampaignMember.lead_id),
            ("contact_id", contacts, "contact", CampaignMember.contact_id),
        ):
            ref = values.get(field_name)
            if ref is None:
                continue
            if not await refs.referenceable(session, principal, ref):
                raise invalid(field_name, "not_found", f"No such {what}")
            duplicate = await session.scalar(
                select(CampaignMember.id).where(
                    CampaignMember.campaign_id == campaign_id,
                    column == ref,
                    CampaignMember.deleted_at.is_(None),
                )
            )
            if duplicate is not None:
                raise Conflict(
                    f"This {what} is already a member of the campaign",
                    code="duplicate_detected",
                    extra={"existing_id": str(duplicate)},
                )
        # The member carries the campaign's owner: record access follows the campaign.
        values["owner_id"] = await session.scalar(
            select(Campaign.owner_id).where(Campaign.id == campaign_id)
        )
    if "status" in values:
        values["has_responded"] = values["status"] in RESPONDED_STATUSES
        first = existing.first_responded_date if existing is not None else None
        if values["has_responded"] and first is None:
            values["first_responded_date"] = clock.now().date()


members_resource = Resource(
    name="campaign-members",
    model=CampaignMember,
    out=schemas.Member,
    create=schemas.MemberCreate,
    update=schemas.MemberUpdate,
    sharing=Sharing.private,
    filterable=(
        "campaign_id",
        "lead_id",
        "contact_id",
        "status",
        "has_responded",
        "first_responded_date",
        "owner_id",
        "created_at",
        "updated_at",
    ),
    sortable=("status", "created_at", "updated_at"),
    label="campaign member",
    required=("status",),
    validate=validate_member,
    scope_name="campaigns",
    parent=("campaigns", "campaign_id"),
)
members = Records(members_resource)
