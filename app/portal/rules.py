"""What a customer's case is, whatever the path it is created by (the case resource's validate
hook calls :func:`case_values` for portal principals): the customer's own contact and account,
origin Portal, the default open status, an internal owner until the assignment rule routes it.
Only models here: the case resource imports this module."""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.cases import policies
from app.kit.errors import Conflict, Forbidden
from app.kit.resource import invalid
from app.models import Account, Contact, User, UserKind

PORTAL = "Portal"
# Fields a customer sets on a new case; every other one is the vendor's.
WRITABLE = ("subject", "description", "type", "priority", "product_id", "language")
_REFUSED = (
    "reason",
    "queue_id",
    "partner_account_id",
    "supplied_email",
    "supplied_name",
    "supplied_phone",
)


async def own_contact(session: AsyncSession, principal: Principal) -> Contact:
    contact = None
    if principal.contact_id is not None:
        contact = await session.scalar(
            select(Contact).where(Contact.id == principal.contact_id, Contact.deleted_at.is_(None))
        )
    if contact is None:
        raise Forbidden("Your portal login is not linked to a contact", code="no_contact")
    return contact


async def _internal_active(session: AsyncSession, user_id: uuid.UUID | None) -> bool:
    if user_id is None:
        return False
    found = await session.scalar(
        select(User.id).where(
            User.id == user_id, User.is_active.is_(True), User.kind == UserKind.internal
        )
    )
    return found is not None


async def default_owner(session: AsyncSession, contact: Contact) -> uuid.UUID:
    """Who owns a customer's case until the assignment rule routes it (Salesforce's default case
    owner): the account's owner, else the contact's, else the longest-standing administrator."""
    candidates = []
    if contact.account_id is not None:
        candidates.append(
            await session.scalar(select(Account.owner_id).where(Account.id == contact.account_id))
        )
    candidates.append(contact.owner_id)
    for user_id in candidates:
        if await _internal_active(session, user_id):
            return user_id
    admin = await session.scalar(
        select(User.id)
        .where(User.is_admin.is_(True), User.is_active.is_(True), User.kind == UserKind.internal)
        .order_by(User.created_at, User.id)
        .limit(1)
    )
    if admin is None:
        raise Conflict("No internal user can own the case", code="no_case_owner")
    return admin


async def case_values(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing: Any
) -> None:
    """Fix a portal user's case values (in place) before it is created; refuse what is not
    theirs to set. Changes go through the portal's workflows, never a PATCH."""
    if existing is not None:
        raise Forbidden("Customers change cases only by commenting, closing or reopening")
    contact = await own_contact(session, principal)
    for name in _REFUSED:
        if values.get(name) is not None:
            raise invalid(name, "read_only", f"{name} is set by the vendor")
    for name, own in (("contact_id", contact.id), ("account_id", contact.account_id)):
        if values.get(name) is not None and values[name] != own:
            raise invalid(name, "not_found", f"No such {name.removesuffix('_id')}")
    values["contact_id"] = contact.id
    values["account_id"] = contact.account_id
    values["origin"] = PORTAL
    values["status"] = await policies.default_open_status(session)
    values["owner_id"] = await default_owner(session, contact)
