"""Lead conversion: one transaction that turns a qualified lead into an account, a contact and
optionally an opportunity, carries its history over, and marks it converted. The lead row is
locked first, so concurrent calls convert it exactly once."""

import uuid
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Boolean, Uuid, bindparam, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.accounts import schemas as account_schemas
from app.accounts.repository import records as accounts
from app.auth.principal import Principal
from app.contacts import schemas as contact_schemas
from app.contacts.repository import records as contacts
from app.kit import clock
from app.kit.db import Prepared
from app.kit.errors import AppError, InvalidStateTransition
from app.kit.ids import new_id
from app.kit.resource import invalid
from app.leads.repository import records as leads
from app.leads.schemas import Lead as LeadSchema
from app.leads.schemas import LeadBulkConvertItem, LeadConvert, LeadConvertResult
from app.models import CampaignMember, Contact, Event, Lead, Task
from app.opportunities import schemas as opportunity_schemas
from app.opportunities.repository import records as opportunities
from app.picklists.cache import picklists

OPEN_TASK_STATUSES = ("Not Started", "In Progress", "Waiting on someone else", "Deferred")

ACCOUNT_FROM_LEAD = {
    "industry": "industry",
    "annual_revenue": "annual_revenue",
    "number_of_employees": "number_of_employees",
    "phone": "phone",
    "website": "website",
    "rating": "rating",
    "billing_street": "street",
    "billing_city": "city",
    "billing_state": "state",
    "billing_postal_code": "postal_code",
    "billing_country": "country",
}
CONTACT_FROM_LEAD = (
    "salutation",
    "first_name",
    "last_name",
    "title",
    "email",
    "phone",
    "mobile_phone",
    "description",
    "do_not_call",
    "has_opted_out_of_email",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
)


def _end_of_quarter(day: date) -> date:
    month = ((day.month - 1) // 3 + 1) * 3
    nxt = date(day.year + (month == 12), month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def _fill_empty(record: Any, wanted: dict[str, Any]) -> dict[str, Any]:
    """Salesforce's rule for existing records: only fields that are empty are filled."""
    return {k: v for k, v in wanted.items() if v is not None and getattr(record, k) in (None, "")}


async def convert(
    session: AsyncSession, principal: Principal, lead_id: uuid.UUID, data: LeadConvert
) -> tuple[Lead, uuid.UUID, uuid.UUID, uuid.UUID | None]:
    # The converted status must be an active lead status flagged is_converted (Salesforce's
    # LeadStatus.IsConverted); without one, the first such status.
    converted = (await picklists.get(session)).converted_statuses()
    status = data.converted_status or (converted[0] if converted else None)
    if status not in converted:
        raise invalid(
            "converted_status",
            "invalid_picklist_value",
            f"Use a converted lead status: {', '.join(converted) or 'none is active'}",
        )
    if data.account_id and data.account:
        raise invalid("account", "invalid", "Give account_id or account, not both")
    lead: Lead = await leads.lock_for_write(session, principal, lead_id)
    if lead.is_converted:
        raise InvalidStateTransition("The lead is already converted")
    owner = {"owner_id": data.owner_id} if data.owner_id else {}

    # Account: an existing one (empty fields filled from the lead) or a new one.
    from_lead = {k: getattr(lead, v) for k, v in ACCOUNT_FROM_LEAD.items()}
    if data.account_id:
        if not await accounts.visible_id(session, principal, data.account_id):
            raise invalid("account_id", "not_found", "No such account")
        account = await accounts.get(session, principal, data.account_id)
        fill = _fill_empty(account, from_lead)
        if fill:
            await accounts.update(
                session, principal, account.id, account_schemas.AccountUpdate(**fill), None
            )
    else:
        given = data.account.model_dump(exclude_none=True) if data.account else {}
        account = _row(
            await accounts.create(
                session,
                principal,
                account_schemas.AccountCreate(
                    **{k: v for k, v in from_lead.items() if v is not None},
                    **{"name": lead.company, **given},
                    **owner,
                ),
                plain=True,  # no ORM object: the insert and its log in one statement
            )
        )

    # Contact: an existing one of that account, or a new one.
    person = {k: getattr(lead, k) for k in CONTACT_FROM_LEAD}
    if data.contact_id:
        if not await contacts.visible_id(session, principal, data.contact_id):
            raise invalid("contact_id", "not_found", "No such contact")
        contact = await contacts.get(session, principal, data.contact_id)
        if contact.account_id != account.id:
            raise invalid("contact_id", "invalid", "The contact does not belong to the account")
        fill = _fill_empty(contact, {k: v for k, v in person.items() if k != "last_name"})
        if lead.lead_source and (data.overwrite_lead_source or not contact.lead_source):
            fill["lead_source"] = lead.lead_source
        if fill:
            await contacts.update(
                session, principal, contact.id, contact_schemas.ContactUpdate(**fill), None
            )
    else:
        contact = _row(
            await contacts.create(
                session,
                principal,
                contact_schemas.ContactCreate(
                    **{k: v for k, v in person.items() if v is not None},
                    account_id=account.id,
                    lead_source=lead.lead_source,
                    **owner,
                ),
                plain=True,
            )
        )

    opportunity_id = None
    if data.create_opportunity:
        opp = await opportunities.create(
            session,
            principal,
            opportunity_schemas.OpportunityCreate(
                name=data.opportunity_name or f"{account.name}-",
                account_id=account.id,
                close_date=_end_of_quarter(clock.now().date()),
                lead_source=lead.lead_source,
                **owner,
            ),
        )
        opportunity_id = opp.id

    await _move_related(session, lead, contact, opportunity_id, data.owner_id)

    now = clock.now()
    await leads.change(
        session,
        principal,
        lead,
        {
            "is_converted": True,
            "converted_at": now,
            "status": status,
            "converted_account_id": account.id,
            "converted_contact_id": contact.id,
            "converted_opportunity_id": opportunity_id,
        },
    )
    await events.emit(
        session,
        events.LEAD_CONVERTED,
        "leads",
        lead.id,
        {
            "account_id": str(account.id),
            "contact_id": str(contact.id),
            "opportunity_id": str(opportunity_id) if opportunity_id else None,
        },
        actor_id=principal.user_id,
    )
    return lead, account.id, contact.id, opportunity_id


def _row(created: Any) -> Any:
    """A created record with attribute access, whether it came back as the ORM object or as
    the dict of its columns (``plain``)."""
    return SimpleNamespace(**created) if isinstance(created, dict) else created


def convert_result(
    lead: Lead, account_id: uuid.UUID, contact_id: uuid.UUID, opportunity_id: uuid.UUID | None
) -> LeadConvertResult:
    return LeadConvertResult(
        lead_id=lead.id,
        account_id=account_id,
        contact_id=contact_id,
        opportunity_id=opportunity_id,
        lead=LeadSchema.model_validate(lead),
    )


Outcome = LeadConvertResult | AppError | DBAPIError


async def convert_each(
    session: AsyncSession, principal: Principal, items: list[LeadBulkConvertItem]
) -> list[Outcome]:
    """Convert lead by lead, each in its own savepoint: a failure undoes only its own lead's
    work (Salesforce's convertLead reports per lead too). Outcomes in the order given: the
    result, or the error its conversion raised."""
    outcomes: list[Outcome] = []
    for item in items:
        data = LeadConvert.model_validate(item.model_dump(exclude={"lead_id"}, exclude_unset=True))
        try:
            async with session.begin_nested():
                done = await convert(session, principal, item.lead_id, data)
                outcomes.append(convert_result(*done))
        except (AppError, DBAPIError) as exc:
            outcomes.append(exc)
    return outcomes


_MOVE_SQL = """
WITH moved_tasks AS (
    UPDATE tasks SET who_type = 'contact', who_id = :contact,
        what_type = CASE WHEN :moving_to_opportunity THEN 'opportunity' ELSE what_type END,
        what_id = CASE WHEN :moving_to_opportunity THEN :opportunity ELSE what_id END
    WHERE who_type = 'lead' AND who_id = :lead RETURNING 1
), moved_events AS (
    UPDATE events SET who_type = 'contact', who_id = :contact,
        what_type = CASE WHEN :moving_to_opportunity THEN 'opportunity' ELSE what_type END,
        what_id = CASE WHEN :moving_to_opportunity THEN :opportunity ELSE what_id END
    WHERE who_type = 'lead' AND who_id = :lead RETURNING 1
), moved_notes AS (
    UPDATE notes SET parent_type = 'contact', parent_id = :contact
    WHERE parent_type = 'lead' AND parent_id = :lead RETURNING 1
)
SELECT campaign_id, status, has_responded, first_responded_date, owner_id
FROM campaign_members WHERE lead_id = :lead AND deleted_at IS NULL
"""


def _move_statement() -> Prepared:
    """Tasks, events and notes move to the contact (and the opportunity, when one was made) in
    the statement that reads the campaign memberships to copy, in one round trip."""
    return Prepared(
        text(_MOVE_SQL).bindparams(
            bindparam("lead", type_=Uuid),
            bindparam("contact", type_=Uuid),
            bindparam("opportunity", type_=Uuid),
            bindparam("moving_to_opportunity", type_=Boolean),
        )
    )


_MOVE = _move_statement()


async def _move_related(
    session: AsyncSession,
    lead: Lead,
    contact: Contact,
    opportunity_id: uuid.UUID | None,
    new_owner: uuid.UUID | None,
) -> None:
    """Campaign memberships go to the contact (the lead's stay, as history); tasks, events and
    notes move to the contact and, where one was made, the opportunity; open activities follow
    the new owner."""
    params = {
        "lead": lead.id,
        "contact": contact.id,
        "opportunity": opportunity_id,
        "moving_to_opportunity": opportunity_id is not None,
    }
    rows = await _MOVE.fetch_written(session, params)  # it moves rows: in the transaction
    for m in (SimpleNamespace(**row) for row in rows):
        await session.execute(
            insert(CampaignMember)
            .values(
                id=new_id(),
                campaign_id=m.campaign_id,
                contact_id=contact.id,
                status=m.status,
                has_responded=m.has_responded,
                first_responded_date=m.first_responded_date,
                owner_id=m.owner_id,
                version=1,
            )
            .on_conflict_do_nothing()
        )
    if new_owner:
        await session.execute(
            update(Task)
            .where(Task.who_id == contact.id, Task.status.in_(OPEN_TASK_STATUSES))
            .values(owner_id=new_owner)
        )
        await session.execute(
            update(Event)
            .where(Event.who_id == contact.id, Event.end_at >= clock.now())
            .values(owner_id=new_owner)
        )
