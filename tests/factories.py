"""Plain async factories and helpers shared by the tests."""

import base64
import hashlib
import secrets
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.admin import schemas, service
from app.config import Settings
from app.models import ApiClient, User


class SettingsForTests(Settings):
    """Defaults for tests: no .env file, quick lockouts, plain logs."""

    model_config = {**Settings.model_config, "env_file": None}
    log_json: bool = False
    login_max_failures: int = 3
    login_lockout_seconds: int = 30
    db_lock_timeout_ms: int = 1000
    # Webhook tests deliver to receivers on loopback.
    webhook_allowed_hosts: list[str] = ["127.0.0.1"]


async def make_user(
    session: AsyncSession,
    *,
    email: str | None = None,
    password: str | None = "correct horse battery",
    is_admin: bool = False,
    **kw,
) -> User:
    data = schemas.UserCreate(
        email=email or f"user-{uuid.uuid4().hex[:8]}@example.com",
        name=kw.pop("name", "Test User"),
        password=password,
        is_admin=is_admin,
        **kw,
    )
    return await service.create_user(session, data)


async def make_client(
    session: AsyncSession,
    scopes: list[str] | str,
    *,
    grant_types: list[str] | None = None,
    user: User | None = None,
    redirect_uris: list[str] | None = None,
    public: bool = False,
) -> tuple[ApiClient, str | None]:
    if isinstance(scopes, str):
        scopes = scopes.split()
    data = schemas.ApiClientCreate(
        name="test client",
        scopes=scopes,
        grant_types=grant_types or ["client_credentials"],
        redirect_uris=redirect_uris or [],
        user_id=user.id if user else None,
        public=public,
    )
    return await service.create_client(session, data)


async def token(
    http: httpx.AsyncClient, client: ApiClient, secret: str | None, scope: str | None = None
) -> str:
    form = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    r = await http.post("/oauth/token", data=form, auth=(client.client_id, secret))
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def service_token(
    http: httpx.AsyncClient, session: AsyncSession, scopes: str
) -> tuple[str, ApiClient]:
    client, secret = await make_client(session, scopes)
    return await token(http, client, secret), client


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


async def user_token(
    http: httpx.AsyncClient, session: AsyncSession, user: User, scopes: str
) -> dict[str, str]:
    """Headers with a token of a client acting as ``user``."""
    client, secret = await make_client(session, scopes, user=user)
    return bearer(await token(http, client, secret))


async def committed_user_token(
    app, http: httpx.AsyncClient, scopes: str, **user_fields
) -> dict[str, str]:
    """Headers with a token of a client acting as a new user (``make_user``'s fields), both
    committed through the app's own session factory (for apps that commit: the
    ``committed_app`` fixture)."""
    async with app.state.session_factory() as s:
        user = await make_user(s, **user_fields)
        client, secret = await make_client(s, scopes, user=user)
        await s.commit()
    return bearer(await token(http, client, secret))


async def post_ok(http: httpx.AsyncClient, headers: dict, path: str, body: dict, status=201):
    """POST ``body`` to ``/api/v1/<path>``, assert the status, return the JSON."""
    r = await http.post(f"/api/v1/{path}", json=body, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


async def make_portal_user(
    session: AsyncSession, *, owner: User | None = None, email: str | None = None, **kw
) -> User:
    """A customer portal user (kind ``portal``) with a contact of their own, on a new customer
    account owned by ``owner`` (an internal user made for it when not given)."""
    from app.models import Account, Contact, UserKind

    owner = owner or await make_user(session, name="Account Owner")
    account = Account(name=f"Customer {uuid.uuid4().hex[:6]}", owner_id=owner.id)
    session.add(account)
    await session.flush()
    contact = Contact(
        last_name=kw.pop("last_name", "Customer"), account_id=account.id, owner_id=owner.id
    )
    session.add(contact)
    await session.flush()
    return await make_user(session, email=email, kind=UserKind.portal, contact_id=contact.id, **kw)
