"""Partner accounts ("Enable As Partner"), their users and their systems' OAuth clients.

A partner account is an ordinary account with ``is_partner`` set and program fields; what its
users and clients may see is decided in ``app.access``. Every change to the account goes through
the account machinery (``Records.change``), so it has field history and reaches the change feed.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import is_partner
from app.accounts.repository import records as accounts
from app.admin import schemas as admin_schemas
from app.admin import service as admin_service
from app.auth import scopes as scope_catalog
from app.auth.principal import Principal, PrincipalKind
from app.contacts import schemas as contact_schemas
from app.contacts.repository import records as contacts
from app.kit import clock, filtering
from app.kit.errors import Conflict, Forbidden, InvalidStateTransition, NotFound
from app.kit.pagination import PageParams, by_id, page_of
from app.kit.resource import invalid
from app.models import Account, ApiClient, Contact, PartnerStatus, PartnerTier, User, UserKind
from app.partners import schemas


def require_internal(principal: Principal) -> None:
    """Partner administration is the vendor's: partner and portal principals are refused even
    if a scope were granted to them by mistake."""
    if is_partner(principal) or principal.kind in (
        PrincipalKind.partner_user,
        PrincipalKind.portal_user,
    ):
        raise Forbidden("Only the vendor's users manage partners", code="insufficient_access")


async def _partner(session: AsyncSession, principal: Principal, account_id: uuid.UUID) -> Account:
    """A partner account the principal may read (404 for anything else)."""
    account = await accounts.get(session, principal, account_id)
    if not account.is_partner:
        raise NotFound("No such partner")
    return account


async def _partner_for_write(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID
) -> Account:
    """A partner account the principal may change, locked (404 invisible, 403 read-only)."""
    account = await accounts.lock_for_write(session, principal, account_id)
    if not account.is_partner:
        raise NotFound("No such partner")
    return account


async def _check_channel_manager(session: AsyncSession, user_id: uuid.UUID | None) -> None:
    if user_id is None:
        return
    ok = await session.scalar(
        select(User.id).where(
            User.id == user_id, User.kind == UserKind.internal, User.is_active.is_(True)
        )
    )
    if ok is None:
        raise invalid("channel_manager_id", "not_found", "No such active internal user")


# --- partner accounts ----------------------------------------------------------------------


async def enable(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, data: schemas.PartnerEnable
) -> Account:
    require_internal(principal)
    account = await accounts.lock_for_write(session, principal, account_id)
    if account.is_partner:
        raise InvalidStateTransition("The account is already a partner")
    values = data.model_dump()
    if values["channel_manager_id"] is None and principal.kind == PrincipalKind.user:
        values["channel_manager_id"] = principal.user_id
    if values["partner_onboarded_on"] is None:
        values["partner_onboarded_on"] = clock.now().date()
    await _check_channel_manager(session, values["channel_manager_id"])
    return await accounts.change(session, principal, account, {**values, "is_partner": True})


async def update(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, data: schemas.PartnerUpdate
) -> Account:
    require_internal(principal)
    account = await _partner_for_write(session, principal, account_id)
    values = data.model_dump(exclude_unset=True)
    for name in ("partner_tier", "partner_status"):
        if name in values and values[name] is None:
            raise invalid(name, "required", f"{name} cannot be null")
    if "channel_manager_id" in values:
        await _check_channel_manager(session, values["channel_manager_id"])
    return await accounts.change(session, principal, account, values)


async def disable(
    session: AsyncSession,
    principal: Principal,
    account_id: uuid.UUID,
    data: schemas.PartnerDisable,
) -> Account:
    """Disable the partner: its users are deactivated (their tokens stop working now) and its
    clients revoked. Re-enabling does not bring them back: reactivate users one by one."""
    require_internal(principal)
    account = await _partner_for_write(session, principal, account_id)
    users = await session.scalars(
        select(User).where(
            User.partner_account_id == account.id,
            User.kind == UserKind.partner,
            User.is_active.is_(True),
        )
    )
    for user in users.all():
        await admin_service.deactivate_user(session, user)
    clients = await session.scalars(
        select(ApiClient).where(
            ApiClient.partner_account_id == account.id, ApiClient.revoked_at.is_(None)
        )
    )
    for client in clients.all():
        await admin_service.revoke_client(session, client)
    return await accounts.change(
        session,
        principal,
        account,
        {"is_partner": False, "partner_status": PartnerStatus(data.partner_status)},
    )


async def get(session: AsyncSession, principal: Principal, account_id: uuid.UUID) -> Account:
    return await _partner(session, principal, account_id)


async def list_partners(
    session: AsyncSession,
    principal: Principal,
    params: PageParams,
    *,
    tier: PartnerTier | None,
    status: PartnerStatus | None,
    channel_manager_id: uuid.UUID | None,
    q: str | None,
) -> tuple[list[Account], str | None]:
    stmt = select(Account).where(
        Account.is_partner.is_(True),
        accounts.readable(principal),
    )
    if tier is not None:
        stmt = stmt.where(Account.partner_tier == tier)
    if status is not None:
        stmt = stmt.where(Account.partner_status == status)
    if channel_manager_id is not None:
        stmt = stmt.where(Account.channel_manager_id == channel_manager_id)
    if q:
        stmt = stmt.where(Account.name.ilike(filtering.like_pattern(q), escape="\\"))
    rows = (await session.scalars(by_id(stmt, Account.id, params))).all()
    return page_of(list(rows), params)


# --- partner users -------------------------------------------------------------------------


async def _contact_for(
    session: AsyncSession,
    principal: Principal,
    account: Account,
    data: schemas.PartnerUserCreate,
) -> uuid.UUID:
    if data.contact_id is not None:
        contact = await session.scalar(
            select(Contact).where(
                Contact.id == data.contact_id,
                Contact.account_id == account.id,
                Contact.deleted_at.is_(None),
            )
        )
        if contact is None:
            raise invalid("contact_id", "not_found", "No such contact of this partner account")
        taken = await session.scalar(select(User.id).where(User.contact_id == contact.id))
        if taken is not None:
            raise Conflict("The contact already has a user", code="duplicate_detected")
        return contact.id
    parts = data.name.split()
    contact = await contacts.create(
        session,
        principal,
        contact_schemas.ContactCreate(
            first_name=data.first_name
            or (" ".join(parts[:-1]) if len(parts) > 1 and not data.last_name else None),
            last_name=data.last_name or parts[-1],
            email=data.email,
            title=data.title,
            phone=data.phone,
            account_id=account.id,
            # The partner's people are the account owner's contacts, as in Salesforce.
            owner_id=principal.user_id or account.owner_id,
        ),
    )
    return contact.id


async def create_user(
    session: AsyncSession,
    principal: Principal,
    account_id: uuid.UUID,
    data: schemas.PartnerUserCreate,
) -> User:
    require_internal(principal)
    account = await _partner_for_write(session, principal, account_id)
    if account.partner_status in (PartnerStatus.inactive, PartnerStatus.terminated):
        raise InvalidStateTransition("The partner is not active")
    if await admin_service._email_taken(session, data.email):
        raise Conflict("A user with this email already exists", code="duplicate_detected")
    contact_id = await _contact_for(session, principal, account, data)
    return await admin_service.create_user(
        session,
        admin_schemas.UserCreate(
            email=data.email,
            name=data.name,
            password=data.password,
            kind=UserKind.partner,
            partner_account_id=account.id,
            partner_role=data.partner_role,
            contact_id=contact_id,
            time_zone=data.time_zone,
            locale=data.locale,
        ),
    )


async def list_users(
    session: AsyncSession,
    principal: Principal,
    account_id: uuid.UUID,
    params: PageParams,
    *,
    is_active: bool | None,
) -> tuple[list[User], str | None]:
    await _partner(session, principal, account_id)
    stmt = select(User).where(User.partner_account_id == account_id, User.kind == UserKind.partner)
    if is_active is not None:
        stmt = stmt.where(User.is_active.is_(is_active))
    rows = (await session.scalars(by_id(stmt, User.id, params))).all()
    return page_of(list(rows), params)


async def _user_of(session: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID) -> User:
    user = await session.scalar(
        select(User).where(
            User.id == user_id, User.partner_account_id == account_id, User.kind == UserKind.partner
        )
    )
    if user is None:
        raise NotFound("No such user of this partner")
    return user


async def deactivate_user(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, user_id: uuid.UUID
) -> User:
    require_internal(principal)
    await _partner_for_write(session, principal, account_id)
    return await admin_service.deactivate_user(
        session, await _user_of(session, account_id, user_id)
    )


async def reactivate_user(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, user_id: uuid.UUID
) -> User:
    require_internal(principal)
    await _partner_for_write(session, principal, account_id)
    return await admin_service.reactivate_user(
        session, await _user_of(session, account_id, user_id)
    )


# --- partner clients -----------------------------------------------------------------------


async def create_client(
    session: AsyncSession,
    principal: Principal,
    account_id: uuid.UUID,
    data: schemas.PartnerClientCreate,
) -> tuple[ApiClient, str | None]:
    require_internal(principal)
    account = await _partner_for_write(session, principal, account_id)
    if account.partner_status in (PartnerStatus.inactive, PartnerStatus.terminated):
        raise InvalidStateTransition("The partner is not active")
    beyond = sorted(set(data.scopes) - scope_catalog.PARTNER_SCOPES)
    known = [s for s in beyond if s in scope_catalog.SCOPES]
    if known:
        raise invalid("scopes", "not_allowed", f"Partners may not be granted: {' '.join(known)}")
    client, secret = await admin_service.create_client(
        session,
        admin_schemas.ApiClientCreate(
            name=data.name, scopes=data.scopes, grant_types=["client_credentials"]
        ),
        created_by=principal.user_id,
    )
    client.partner_account_id = account.id
    await session.flush()
    return client, secret


async def list_clients(
    session: AsyncSession,
    principal: Principal,
    account_id: uuid.UUID,
    params: PageParams,
) -> tuple[list[ApiClient], str | None]:
    await _partner(session, principal, account_id)
    stmt = select(ApiClient).where(ApiClient.partner_account_id == account_id)
    rows = (await session.scalars(by_id(stmt, ApiClient.id, params))).all()
    return page_of(list(rows), params)


async def revoke_client(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, client_pk: uuid.UUID
) -> ApiClient:
    require_internal(principal)
    await _partner_for_write(session, principal, account_id)
    client = await session.scalar(
        select(ApiClient).where(
            ApiClient.id == client_pk, ApiClient.partner_account_id == account_id
        )
    )
    if client is None:
        raise NotFound("No such API client of this partner")
    return await admin_service.revoke_client(session, client)
