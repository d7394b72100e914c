"""Administration: users, roles and API clients. Used by the admin API and the CLI."""

import uuid
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.admin import schemas
from app.auth import scopes as scope_catalog
from app.auth.secrets import digest, hash_password, new_secret
from app.kit import clock
from app.kit.errors import Conflict, NotFound, ValidationFailed
from app.kit.pagination import PageParams, by_id, page_of
from app.models import Account, ApiClient, Grant, Role, User, UserKind


def _invalid(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"field": field, "code": code, "message": message}])


# --- users -------------------------------------------------------------------------------


async def _taken(session: AsyncSession, column, value: str, except_id=None) -> bool:
    """Whether another row already has ``value`` in ``column``, ignoring case."""
    model = column.class_
    stmt = select(model.id).where(func.lower(column) == value.lower())
    if except_id:
        stmt = stmt.where(model.id != except_id)
    return (await session.scalar(stmt)) is not None


async def _email_taken(session: AsyncSession, email: str, except_id=None) -> bool:
    return await _taken(session, User.email, email, except_id)


async def _check_refs(session: AsyncSession, role_id, manager_id, user_id=None) -> None:
    if role_id is not None and await session.get(Role, role_id) is None:
        raise _invalid("role_id", "not_found", "No such role")
    if manager_id is not None:
        if manager_id == user_id:
            raise _invalid("manager_id", "invalid", "A user cannot manage themselves")
        if await session.get(User, manager_id) is None:
            raise _invalid("manager_id", "not_found", "No such user")


async def create_user(session: AsyncSession, data: schemas.UserCreate) -> User:
    if await _email_taken(session, data.email):
        raise Conflict("A user with this email already exists", code="duplicate_detected")
    await _check_refs(session, data.role_id, data.manager_id)
    if data.kind == UserKind.partner and (data.partner_account_id is None or not data.partner_role):
        raise _invalid(
            "partner_account_id", "required", "Partner users need a partner account and role"
        )
    if data.kind == UserKind.portal and data.contact_id is None:
        raise _invalid("contact_id", "required", "Portal users need a contact")
    if data.kind != UserKind.internal and data.is_admin:
        raise _invalid("is_admin", "invalid", "Only internal users can be administrators")
    if data.kind == UserKind.partner:
        enabled = await session.scalar(
            select(Account.id).where(
                Account.id == data.partner_account_id, Account.is_partner.is_(True)
            )
        )
        if enabled is None:
            raise _invalid(
                "partner_account_id", "not_found", "No such account enabled as a partner"
            )
    elif data.partner_account_id is not None or data.partner_role is not None:
        field = "partner_account_id" if data.partner_account_id is not None else "partner_role"
        raise _invalid(field, "invalid", "Only partner users belong to a partner account")
    values = data.model_dump(exclude={"password"})
    user = User(**values)
    if data.password:
        user.password_hash = await hash_password(data.password)
    session.add(user)
    await session.flush()
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("No such user")
    return user


async def list_users(
    session: AsyncSession, params: PageParams, *, is_active: bool | None, q: str | None
) -> tuple[list[User], str | None]:
    stmt = select(User)
    if is_active is not None:
        stmt = stmt.where(User.is_active.is_(is_active))
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(func.lower(User.email).like(like) | func.lower(User.name).like(like))
    rows = (await session.scalars(by_id(stmt, User.id, params))).all()
    return page_of(list(rows), params)


async def update_user(session: AsyncSession, user: User, data: schemas.UserUpdate) -> User:
    changes = data.model_dump(exclude_unset=True)
    if "email" in changes and await _email_taken(session, changes["email"], user.id):
        raise Conflict("A user with this email already exists", code="duplicate_detected")
    await _check_refs(session, changes.get("role_id"), changes.get("manager_id"), user.id)
    if changes.get("is_admin") and user.kind != UserKind.internal:
        raise _invalid("is_admin", "invalid", "Only internal users can be administrators")
    password = changes.pop("password", None)
    for key, value in changes.items():
        if value is None and key in ("email", "name", "is_admin", "time_zone", "locale"):
            raise _invalid(key, "required", f"{key} cannot be null")
        setattr(user, key, value)
    if password:
        user.password_hash = await hash_password(password)
        await _revoke_user_grants(session, user.id, "password_changed")
    await session.flush()
    return user


async def _revoke_user_grants(session: AsyncSession, user_id: uuid.UUID, reason: str) -> None:
    await session.execute(
        update(Grant)
        .where(Grant.user_id == user_id, Grant.revoked_at.is_(None))
        .values(revoked_at=clock.now(), revoked_reason=reason)
    )


async def deactivate_user(session: AsyncSession, user: User) -> User:
    """Deactivated users keep their records but cannot sign in; their tokens stop working now."""
    if user.is_active:
        user.is_active = False
        user.deactivated_at = clock.now()
        await _revoke_user_grants(session, user.id, "user_deactivated")
        await session.flush()
    return user


async def reactivate_user(session: AsyncSession, user: User) -> User:
    if user.kind == UserKind.partner:
        # A disabled partner's users stay off until it is enabled again (app/partners).
        enabled = await session.scalar(
            select(Account.id).where(
                Account.id == user.partner_account_id, Account.is_partner.is_(True)
            )
        )
        if enabled is None:
            raise Conflict("The user's partner is not enabled", code="invalid_state_transition")
    user.is_active = True
    user.deactivated_at = None
    user.failed_logins = 0
    user.locked_until = None
    await session.flush()
    return user


# --- roles -------------------------------------------------------------------------------


async def _check_parent(session: AsyncSession, role_id, parent_id) -> None:
    if parent_id is None:
        return
    if await session.get(Role, parent_id) is None:
        raise _invalid("parent_id", "not_found", "No such role")
    if role_id is None:
        return
    # Walk up from the new parent: meeting the role itself would make a cycle.
    cursor = parent_id
    seen = set()
    while cursor is not None and cursor not in seen:
        if cursor == role_id:
            raise _invalid("parent_id", "cycle", "A role cannot report to itself or a role below")
        seen.add(cursor)
        cursor = await session.scalar(select(Role.parent_id).where(Role.id == cursor))


async def _role_name_taken(session: AsyncSession, name: str, except_id=None) -> bool:
    return await _taken(session, Role.name, name, except_id)


async def create_role(session: AsyncSession, data: schemas.RoleCreate) -> Role:
    if await _role_name_taken(session, data.name):
        raise Conflict("A role with this name already exists", code="duplicate_detected")
    await _check_parent(session, None, data.parent_id)
    role = Role(**data.model_dump())
    session.add(role)
    await session.flush()
    return role


async def get_role(session: AsyncSession, role_id: uuid.UUID) -> Role:
    role = await session.get(Role, role_id)
    if role is None:
        raise NotFound("No such role")
    return role


async def list_roles(session: AsyncSession, params: PageParams) -> tuple[list[Role], str | None]:
    rows = (await session.scalars(by_id(select(Role), Role.id, params))).all()
    return page_of(list(rows), params)


async def update_role(session: AsyncSession, role: Role, data: schemas.RoleUpdate) -> Role:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") and await _role_name_taken(session, changes["name"], role.id):
        raise Conflict("A role with this name already exists", code="duplicate_detected")
    if "name" in changes and changes["name"] is None:
        raise _invalid("name", "required", "name cannot be null")
    if "parent_id" in changes:
        await _check_parent(session, role.id, changes["parent_id"])
    for key, value in changes.items():
        setattr(role, key, value)
    await session.flush()
    return role


async def delete_role(session: AsyncSession, role: Role) -> None:
    in_use = await session.scalar(select(User.id).where(User.role_id == role.id).limit(1))
    child = await session.scalar(select(Role.id).where(Role.parent_id == role.id).limit(1))
    if in_use or child:
        raise Conflict("The role still has users or roles below it", code="role_in_use")
    await session.delete(role)
    await session.flush()


# --- API clients -------------------------------------------------------------------------


def client_view(client: ApiClient) -> schemas.ApiClientOut:
    return schemas.ApiClientOut.model_validate(client)


def client_with_secret(client: ApiClient, secret: str | None) -> schemas.ApiClientWithSecret:
    return schemas.ApiClientWithSecret(**client_view(client).model_dump(), client_secret=secret)


async def create_client(
    session: AsyncSession, data: schemas.ApiClientCreate, created_by: uuid.UUID | None = None
) -> tuple[ApiClient, str | None]:
    bad = scope_catalog.unknown(data.scopes)
    if bad:
        raise _invalid("scopes", "unknown_scope", f"Unknown scopes: {' '.join(bad)}")
    grants = list(dict.fromkeys(data.grant_types))
    if data.public:
        if set(grants) - {"authorization_code", "refresh_token"}:
            raise _invalid(
                "grant_types",
                "invalid",
                "Public clients may use only authorization_code and refresh_token",
            )
        if data.user_id:
            raise _invalid("user_id", "invalid", "Public clients cannot act as a fixed user")
    if "authorization_code" in grants and not data.redirect_uris:
        raise _invalid("redirect_uris", "required", "authorization_code needs a redirect URI")
    for uri in data.redirect_uris:
        parts = urlsplit(uri)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
            raise _invalid("redirect_uris", "invalid", f"Not an absolute URL: {uri}")
    if data.user_id is not None:
        user = await session.get(User, data.user_id)
        if user is None:
            raise _invalid("user_id", "not_found", "No such user")
    secret = None if data.public else new_secret("acs_")
    client = ApiClient(
        client_id="acc_" + uuid.uuid4().hex[:24],
        name=data.name,
        secret_hash=digest(secret) if secret else None,
        allowed_scopes=sorted(set(data.scopes)),
        grant_types=grants,
        redirect_uris=data.redirect_uris,
        user_id=data.user_id,
        created_by=created_by,
    )
    session.add(client)
    await session.flush()
    return client, secret


async def get_client(session: AsyncSession, client_pk: uuid.UUID) -> ApiClient:
    client = await session.get(ApiClient, client_pk)
    if client is None:
        raise NotFound("No such API client")
    return client


async def list_clients(
    session: AsyncSession, params: PageParams
) -> tuple[list[ApiClient], str | None]:
    rows = (await session.scalars(by_id(select(ApiClient), ApiClient.id, params))).all()
    return page_of(list(rows), params)


async def rotate_client_secret(session: AsyncSession, client: ApiClient) -> str:
    if client.revoked_at is not None:
        raise Conflict("The client is revoked", code="invalid_state_transition")
    if client.secret_hash is None:
        raise Conflict("Public clients have no secret", code="invalid_state_transition")
    secret = new_secret("acs_")
    client.secret_hash = digest(secret)
    client.secret_rotated_at = clock.now()
    await session.flush()
    return secret


async def revoke_client(session: AsyncSession, client: ApiClient) -> ApiClient:
    """A revoked client cannot get tokens, and every token it holds stops working at once."""
    if client.revoked_at is None:
        client.revoked_at = clock.now()
        await session.execute(
            update(Grant)
            .where(Grant.client_pk == client.id, Grant.revoked_at.is_(None))
            .values(revoked_at=clock.now(), revoked_reason="client_revoked")
        )
        await session.flush()
    return client
