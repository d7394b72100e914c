"""Customer portal workflows: self-registration (verify, approve by rule or by an
administrator, reject), my profile, and a customer's own cases (create, comment, close, reopen).

Registration is enumeration-safe: the public endpoint answers the same whether the address is
new, already registered or already a user (those get an email telling them, not a second
login). Approving one creates the portal user (kind ``portal``) linked to a contact of the
customer's account; they then sign in through the normal OAuth flows.
"""

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.admin.service import _revoke_user_grants
from app.auth.principal import Principal, PrincipalKind
from app.auth.secrets import hash_password, verify_password
from app.cases import escalation, policies
from app.cases import schemas as case_schemas
from app.cases import service as case_service
from app.cases.repository import cases
from app.config import Settings
from app.contacts.repository import records as contacts
from app.contacts.schemas import ContactCreate
from app.email.service import queue_notice
from app.email.tracking import signing_key
from app.kit import clock, signed
from app.kit.errors import (
    AppError,
    Conflict,
    Forbidden,
    InsufficientScope,
    InvalidStateTransition,
    NotFound,
)
from app.kit.ids import new_id
from app.kit.resource import invalid
from app.models import (
    Account,
    Case,
    Contact,
    PortalDomain,
    PortalRegistration,
    User,
    UserKind,
)
from app.portal import ratelimit, rules, schemas

logger = logging.getLogger("accord.portal")
VERIFY_FOR = timedelta(hours=24)
LIMIT_WINDOW = timedelta(hours=1)
LIMIT_PER_IP = 10
LIMIT_PER_EMAIL = 3
_COMMON = {
    "password12",
    "password123",
    "1234567890",
    "qwertyuiop",
    "iloveyou12",
    "letmein123",
    "welcome123",
    "passw0rd12",
}


# --- who may do what -----------------------------------------------------------------------------


def portal_only(principal: Principal) -> None:
    if principal.kind != PrincipalKind.portal_user:
        raise Forbidden("Only customer portal users have a portal profile", code="portal_only")


def registrations_admin(principal: Principal) -> None:
    if principal.kind != PrincipalKind.user:
        raise Forbidden("Only the vendor's users decide registrations", code="vendor_only")
    if not (principal.has("admin") or principal.has("users:write")):
        raise InsufficientScope("users:write")


# --- email ---------------------------------------------------------------------------------------


async def _mail(
    session: AsyncSession, settings: Settings, to: str, name: str | None, subject: str, text: str
) -> None:
    await queue_notice(
        session,
        settings,
        [(to, name)],
        subject=subject,
        text=text,
        related_type="portal_registration",
    )


def verify_token(key: bytes, reg_id: uuid.UUID, expires_at: datetime) -> str:
    return signed.make(key, "portal-verify", reg_id, expires_at)


def _read_verify_token(key: bytes, token: str) -> uuid.UUID:
    return signed.read(
        key,
        "portal-verify",
        token,
        invalid="This link is not valid",
        expired="This link has expired; register again",
    )


# --- registration --------------------------------------------------------------------------------


def check_password(password: str, email: str, names: list[str | None]) -> None:
    lowered = password.lower()
    local = email.split("@")[0].lower()
    bad = (
        len(set(password)) < 4
        or lowered in _COMMON
        or lowered == email.lower()
        or (len(local) >= 4 and local in lowered)
        or any(n and len(n) >= 4 and n.lower() in lowered for n in names)
    )
    if bad:
        raise invalid(
            "password",
            "weak_password",
            "Choose a password of at least 10 characters that is not common and does not"
            " contain your name or email address",
        )


async def register(
    session: AsyncSession,
    settings: Settings,
    data: schemas.RegistrationCreate,
    ip: str | None,
) -> None:
    email = data.email.strip().lower()
    await ratelimit.hit(session, f"portal-register:ip:{ip or '-'}", LIMIT_PER_IP, LIMIT_WINDOW)
    await ratelimit.hit(session, f"portal-register:email:{email}", LIMIT_PER_EMAIL, LIMIT_WINDOW)
    try:
        check_password(data.password, email, [data.first_name, data.last_name])
    except AppError as exc:
        exc.persist = True  # the rate-limit hits count, even for a refused password
        raise
    now = clock.now()
    user = await session.scalar(select(User.id).where(func.lower(User.email) == email))
    if user is not None:
        await _mail(
            session,
            settings,
            email,
            None,
            "Your portal account",
            "Someone (probably you) asked to register this address for the customer portal."
            " You already have an account: sign in, or reset your password if you forgot it.",
        )
        return
    open_one = await session.scalar(
        select(PortalRegistration)
        .where(
            func.lower(PortalRegistration.email) == email,
            PortalRegistration.status.in_(("unverified", "pending")),
        )
        .with_for_update()
    )
    if open_one is not None:
        if open_one.status == "pending" or open_one.verify_expires_at > now:
            return  # the first link still works, or an administrator will decide
        open_one.status = "expired"
        await session.flush()
    reg = PortalRegistration(
        id=new_id(),
        email=email,
        first_name=data.first_name,
        last_name=data.last_name,
        company=data.company,
        phone=data.phone,
        password_hash=await hash_password(data.password),
        status="unverified",
        verify_expires_at=now + VERIFY_FOR,
    )
    try:
        async with session.begin_nested():
            session.add(reg)
            await session.flush()
    except IntegrityError:
        return  # a concurrent registration of the same address won; same answer
    key = await signing_key(session, settings)
    token = verify_token(key, reg.id, reg.verify_expires_at)
    link = f"{settings.public_url.rstrip('/')}/s/portal/verify/{token}"
    await _mail(
        session,
        settings,
        email,
        " ".join(x for x in (data.first_name, data.last_name) if x),
        "Confirm your email address",
        "Please confirm your email address to finish registering for the customer portal:\n"
        f"{link}\n\nThe link works for 24 hours. If you did not register, ignore this email.",
    )


def _domain_of(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


# The host of an account's website: scheme, "www." and any path removed.
_WEBSITE_HOST = func.regexp_replace(
    func.lower(func.btrim(Account.website)), r"^([a-z]+://)?(www\.)?([^/:?#]+).*$", r"\3"
)


async def _rule_account(session: AsyncSession, email: str) -> tuple[uuid.UUID, str] | None:
    """The customer account a registration belongs to by rule: an administrator's allowed
    domain, else the one (non-partner) account whose website is on the email's domain."""
    domain = _domain_of(email)
    allowed = await session.scalar(
        select(PortalDomain.account_id)
        .join(Account, Account.id == PortalDomain.account_id)
        .where(PortalDomain.domain == domain, Account.deleted_at.is_(None))
    )
    if allowed is not None:
        return allowed, "allowed_domain"
    found = (
        await session.scalars(
            select(Account.id)
            .where(
                Account.deleted_at.is_(None),
                Account.is_partner.is_(False),
                Account.website.is_not(None),
                domain == _WEBSITE_HOST,
            )
            .limit(2)
        )
    ).all()
    if len(found) == 1:
        return found[0], "website_domain"
    return None  # none, or ambiguous: an administrator decides


async def verify(session: AsyncSession, settings: Settings, token: str) -> schemas.VerifyResult:
    key = await signing_key(session, settings)
    reg_id = _read_verify_token(key, token)
    reg = await session.scalar(
        select(PortalRegistration).where(PortalRegistration.id == reg_id).with_for_update()
    )
    if reg is None or reg.status in ("rejected", "expired"):
        raise signed.LinkExpired("This registration is no longer open; register again")
    if reg.status == "unverified":
        reg.email_verified_at = clock.now()
        reg.status = "pending"
        await session.flush()
        match = await _rule_account(session, reg.email)
        if match is not None:
            try:
                async with session.begin_nested():
                    await _approve(session, settings, reg, match[0], None, match[1], None)
            except AppError as exc:
                # e.g. the contact already has a login: left for an administrator.
                logger.warning(
                    "portal registration not approved by rule",
                    extra={"registration_id": str(reg.id), "reason": exc.detail},
                )
    if reg.status == "approved":
        return schemas.VerifyResult(
            status="approved", detail="Your email is confirmed and your portal access is ready."
        )
    return schemas.VerifyResult(
        status="pending",
        detail="Your email is confirmed. We will email you once your access is approved.",
    )


async def _contact_for(
    session: AsyncSession,
    reg: PortalRegistration,
    account: Account,
    contact_id: uuid.UUID | None,
) -> uuid.UUID:
    if contact_id is not None:
        found = await session.scalar(
            select(Contact.id).where(
                Contact.id == contact_id,
                Contact.account_id == account.id,
                Contact.deleted_at.is_(None),
            )
        )
        if found is None:
            raise invalid("contact_id", "not_found", "No such contact of that account")
        return found
    existing = await session.scalar(
        select(Contact.id)
        .where(
            Contact.account_id == account.id,
            Contact.deleted_at.is_(None),
            func.lower(Contact.email) == reg.email,
        )
        .order_by(Contact.created_at, Contact.id)
        .limit(1)
    )
    if existing is not None:
        return existing
    owner = await rules.default_owner(
        session, Contact(account_id=account.id, owner_id=account.owner_id)
    )
    contact = await contacts.create(
        session,
        policies.SYSTEM,
        ContactCreate(
            first_name=reg.first_name,
            last_name=reg.last_name,
            email=reg.email,
            phone=reg.phone,
            account_id=account.id,
            owner_id=owner,
        ),
    )
    return contact.id


async def _approve(
    session: AsyncSession,
    settings: Settings,
    reg: PortalRegistration,
    account_id: uuid.UUID,
    contact_id: uuid.UUID | None,
    how: str,
    by: uuid.UUID | None,
) -> None:
    account = await session.scalar(
        select(Account).where(Account.id == account_id, Account.deleted_at.is_(None))
    )
    if account is None:
        raise invalid("account_id", "not_found", "No such account")
    if await session.scalar(select(User.id).where(func.lower(User.email) == reg.email)):
        raise Conflict("A user with this email already exists", code="duplicate_detected")
    contact = await _contact_for(session, reg, account, contact_id)
    if await session.scalar(select(User.id).where(User.contact_id == contact)):
        raise Conflict("This contact already has a portal login", code="duplicate_detected")
    name = " ".join(x for x in (reg.first_name, reg.last_name) if x)
    user = User(
        id=new_id(),
        email=reg.email,
        name=name,
        kind=UserKind.portal,
        contact_id=contact,
        password_hash=reg.password_hash,
    )
    session.add(user)
    await session.flush()  # the user row first: the registration points at it
    reg.status = "approved"
    reg.approved_by = how
    reg.account_id = account.id
    reg.contact_id = contact
    reg.user_id = user.id
    reg.decided_by = by
    reg.decided_at = clock.now()
    await session.flush()
    await _mail(
        session,
        settings,
        reg.email,
        name,
        "Your customer portal access is ready",
        f"Hello {name},\n\nYour access to the customer portal is ready: sign in with {reg.email}"
        " and the password you chose.",
    )


async def _pending(session: AsyncSession, reg_id: uuid.UUID) -> PortalRegistration:
    reg = await session.scalar(
        select(PortalRegistration)
        .where(PortalRegistration.id == reg_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if reg is None:
        raise NotFound("No such registration")
    if reg.status != "pending":
        raise InvalidStateTransition(f"The registration is {reg.status}, not pending")
    return reg


async def approve(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    reg_id: uuid.UUID,
    data: schemas.RegistrationApprove,
) -> PortalRegistration:
    reg = await _pending(session, reg_id)
    account_id = data.account_id
    if account_id is None:
        match = await _rule_account(session, reg.email)
        if match is None:
            raise invalid("account_id", "required", "No rule finds the account: name it")
        account_id = match[0]
    await _approve(session, settings, reg, account_id, data.contact_id, "admin", principal.user_id)
    return reg


async def reject(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    reg_id: uuid.UUID,
    data: schemas.RegistrationReject,
) -> PortalRegistration:
    reg = await _pending(session, reg_id)
    reg.status = "rejected"
    reg.reason = data.reason
    reg.decided_by = principal.user_id
    reg.decided_at = clock.now()
    await session.flush()
    await _mail(
        session,
        settings,
        reg.email,
        None,
        "Your customer portal registration",
        "We could not approve your registration for the customer portal."
        + (f"\n\nReason: {data.reason}" if data.reason else ""),
    )
    return reg


# --- my profile ----------------------------------------------------------------------------------


async def profile(session: AsyncSession, principal: Principal) -> schemas.Profile:
    portal_only(principal)
    user = await session.get(User, principal.user_id)
    contact = await rules.own_contact(session, principal)
    return _profile(user, contact)


# A profile is the login's own fields and its contact's: the contact's id and these columns.
LOGIN_FIELDS = ("id", "email", "name", "locale", "time_zone")
CONTACT_FIELDS = ("account_id", "first_name", "last_name", "title", "phone", "mobile_phone")


def _profile(user: User, contact: Contact) -> schemas.Profile:
    return schemas.Profile(
        **{f: getattr(user, f) for f in LOGIN_FIELDS},
        contact_id=contact.id,
        **{f: getattr(contact, f) for f in CONTACT_FIELDS},
    )


async def update_profile(
    session: AsyncSession, principal: Principal, data: schemas.ProfileUpdate
) -> schemas.Profile:
    portal_only(principal)
    changes = data.model_dump(exclude_unset=True)
    for name in ("name", "last_name", "locale", "time_zone"):
        if name in changes and changes[name] is None:
            raise invalid(name, "required", f"{name} cannot be null")
    user = await session.scalar(select(User).where(User.id == principal.user_id).with_for_update())
    new_password = changes.pop("new_password", None)
    current = changes.pop("current_password", None)
    if new_password is not None:
        if current is None or not await verify_password(current, user.password_hash):
            raise invalid("current_password", "invalid", "The current password is not right")
        check_password(new_password, user.email, [user.name])
    contact = await session.scalar(
        select(Contact)
        .where(Contact.id == principal.contact_id, Contact.deleted_at.is_(None))
        .with_for_update()
    )
    if contact is None:
        raise Forbidden("Your portal login is not linked to a contact", code="no_contact")
    for name in ("name", "locale", "time_zone"):
        if name in changes:
            setattr(user, name, changes.pop(name))
    if changes:
        # The contact's own record: field history and the change feed, by the customer.
        await contacts.change(session, principal, contact, changes)
    if new_password is not None:
        user.password_hash = await hash_password(new_password)
        await _revoke_user_grants(session, user.id, "password_changed")
    await session.flush()
    return _profile(user, contact)


# --- my cases ------------------------------------------------------------------------------------


async def create_case(
    session: AsyncSession, principal: Principal, data: schemas.PortalCaseCreate
) -> Case:
    portal_only(principal)
    contact = await rules.own_contact(session, principal)
    values: dict[str, Any] = data.model_dump(exclude_unset=True)
    # The owner must be set before the machinery checks it; rules.case_values sets the rest.
    values["owner_id"] = await rules.default_owner(session, contact)
    return await case_service.create_case(session, principal, values, origin=rules.PORTAL)


async def _lock_own(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> Case:
    case = await session.scalar(
        select(Case)
        .where(Case.id == case_id, cases.readable(principal))
        .with_for_update(of=Case)
        .execution_options(populate_existing=True)
    )
    if case is None:
        raise NotFound("No such case")
    return case


async def _set_status(
    session: AsyncSession, principal: Principal, case: Case, status: str | None
) -> Case:
    values: dict[str, Any] = {"status": status}
    await escalation.on_change(session, case, values, clock.now())
    return await cases.change(session, principal, case, values)


async def close_case(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, data: schemas.PortalClose
) -> Case:
    """The customer closes their case (their problem is solved), as Salesforce's portal
    allows: the first closed status, an optional public comment, the satisfaction survey."""
    portal_only(principal)
    case = await _lock_own(session, principal, case_id)
    policies.may_close(case)
    closed = await policies.closed_statuses(session)
    if not closed:
        raise Conflict("No closed case status is active", code="no_closed_status")
    if data.comment:
        await add_comment(
            session, principal, case_id, schemas.PortalCommentCreate(body=data.comment)
        )
    return await _set_status(session, principal, case, closed[0])


async def reopen_case(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, data: schemas.PortalReopen
) -> Case:
    portal_only(principal)
    case = await _lock_own(session, principal, case_id)
    policies.may_reopen(case)
    status = await policies.default_open_status(session)
    if status is None:
        raise Conflict("No open case status is active", code="no_open_status")
    if data.comment:
        await add_comment(
            session, principal, case_id, schemas.PortalCommentCreate(body=data.comment)
        )
    return await _set_status(session, principal, case, status)


async def add_comment(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    data: schemas.PortalCommentCreate,
):
    portal_only(principal)
    return await case_service.add_comment(
        session, principal, case_id, case_schemas.CommentCreate(body=data.body, is_public=True)
    )
