"""The OAuth 2 authorization server's rules (RFC 6749, 7009, 7636, 7662).

Never commits: the request's transaction does. Failures whose side effects must survive (a
failed-login count, a token family revoked on reuse, a burned code) raise with ``persist=True``.
"""

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_plus

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import scopes as scope_catalog
from app.auth import tokens
from app.auth.keys import KeyRing
from app.auth.secrets import digest, new_secret, same_digest, verify_password
from app.config import Settings
from app.kit import clock
from app.kit.errors import AppError, TooManyRequests
from app.models import (
    ApiClient,
    AuthorizationCode,
    BrowserSession,
    Grant,
    RefreshToken,
    RevokedAccessToken,
    User,
)

GRANT_TYPES = ("client_credentials", "password", "refresh_token", "authorization_code")


class OAuthError(AppError):
    """An RFC 6749 error, rendered as problem+json that also carries ``error`` and
    ``error_description`` so standard OAuth client libraries understand it."""

    status = 400

    def __init__(self, error: str, description: str, *, status: int = 400, **kw: Any) -> None:
        self.status = status
        extra = {"error": error, "error_description": description}
        super().__init__(description, code=error, extra=extra, **kw)


@dataclass
class TokenResult:
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    token_type: str = "Bearer"


@dataclass
class OAuthContext:
    session: AsyncSession
    settings: Settings
    keyring: KeyRing


# --- client authentication ---------------------------------------------------------------


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "Malformed Basic credentials", status=401) from exc
    cid, sep, secret = raw.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "Malformed Basic credentials", status=401)
    return unquote_plus(cid), unquote_plus(secret)


async def authenticate_client(
    session: AsyncSession,
    authorization: str | None,
    client_id: str | None,
    client_secret: str | None,
    *,
    allow_public: bool,
) -> ApiClient:
    """Client authentication: ``client_secret_basic``, ``client_secret_post``, or ``none`` for
    public clients where the grant allows it (PKCE)."""
    basic = _basic_credentials(authorization)
    used_basic = basic is not None
    if basic:
        if client_id and client_id != basic[0]:
            raise OAuthError("invalid_request", "Two different client ids were sent")
        client_id, client_secret = basic
    challenge = {"WWW-Authenticate": 'Basic realm="accord"'} if used_basic else None
    if not client_id:
        raise OAuthError("invalid_client", "Client authentication is required", status=401)
    client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None or client.revoked_at is not None:
        raise OAuthError(
            "invalid_client", "Unknown or revoked client", status=401, headers=challenge
        )
    if client.secret_hash is None:
        if not allow_public:
            raise OAuthError(
                "unauthorized_client", "A public client cannot use this endpoint or grant"
            )
        if client_secret:
            raise OAuthError("invalid_client", "Public clients have no secret", status=401)
        return client
    if not client_secret or not same_digest(client_secret, client.secret_hash):
        raise OAuthError(
            "invalid_client", "Client authentication failed", status=401, headers=challenge
        )
    return client


# --- scopes ------------------------------------------------------------------------------


def narrow_scopes(requested: str | None, *ceilings: frozenset[str] | set[str]) -> str:
    allowed = set(scope_catalog.SCOPES)
    for c in ceilings:
        allowed &= set(c)
    if requested is None or not requested.strip():
        return " ".join(sorted(allowed))
    asked = set(requested.split())
    denied = sorted(asked - allowed)
    if denied:
        raise OAuthError("invalid_scope", f"Scope not allowed for this client: {' '.join(denied)}")
    return " ".join(sorted(asked))


# --- issuing -----------------------------------------------------------------------------


async def _new_refresh_token(ctx: OAuthContext, grant: Grant) -> str:
    value = new_secret("art_")
    now = clock.now()
    ctx.session.add(
        RefreshToken(
            grant_id=grant.id,
            token_hash=digest(value),
            created_at=now,
            expires_at=now + timedelta(seconds=ctx.settings.refresh_token_ttl_seconds),
        )
    )
    return value


async def _issue_for_user(
    ctx: OAuthContext, client: ApiClient, user: User, scope: str, grant: Grant | None = None
) -> TokenResult:
    if grant is None:
        grant = Grant(client_pk=client.id, user_id=user.id, scope=scope)
        ctx.session.add(grant)
        await ctx.session.flush()
    access = tokens.issue_access_token(
        ctx.keyring,
        ctx.settings,
        subject=str(user.id),
        client_id=client.client_id,
        scope=scope,
        grant_id=grant.id,
    )
    refresh = None
    if "refresh_token" in client.grant_types:
        refresh = await _new_refresh_token(ctx, grant)
    return TokenResult(access.token, access.expires_in, scope, refresh)


def _require_grant_type(client: ApiClient, grant_type: str) -> None:
    if grant_type not in client.grant_types:
        raise OAuthError("unauthorized_client", f"This client may not use the '{grant_type}' grant")


async def client_credentials(
    ctx: OAuthContext, client: ApiClient, scope: str | None
) -> TokenResult:
    _require_grant_type(client, "client_credentials")
    if client.user_id is not None:
        user = await ctx.session.get(User, client.user_id)
        if user is None or not user.is_active:
            raise OAuthError("invalid_grant", "The user this client acts for is not active")
        granted = narrow_scopes(scope, set(client.allowed_scopes), scope_catalog.user_ceiling(user))
        subject = str(user.id)
    else:
        ceilings = [set(client.allowed_scopes)]
        if client.partner_account_id is not None:
            ceilings.append(scope_catalog.PARTNER_SCOPES)
        granted = narrow_scopes(scope, *ceilings)
        subject = client.client_id
    access = tokens.issue_access_token(
        ctx.keyring, ctx.settings, subject=subject, client_id=client.client_id, scope=granted
    )
    return TokenResult(access.token, access.expires_in, granted)


async def _check_lockout(ctx: OAuthContext, user: User | None) -> None:
    if user is not None and user.locked_until is not None and user.locked_until > clock.now():
        wait = int((user.locked_until - clock.now()).total_seconds()) + 1
        raise TooManyRequests(
            "Too many failed sign-in attempts; try again later",
            code="too_many_attempts",
            headers={"Retry-After": str(wait)},
        )


async def _record_failure(ctx: OAuthContext, user: User | None) -> None:
    if user is None:
        return
    s = ctx.settings
    failures = await ctx.session.scalar(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
    )
    if failures is not None and failures >= s.login_max_failures:
        seconds = min(
            s.login_lockout_seconds * 2 ** (failures - s.login_max_failures),
            s.login_lockout_max_seconds,
        )
        await ctx.session.execute(
            update(User)
            .where(User.id == user.id)
            .values(locked_until=clock.now() + timedelta(seconds=seconds))
        )


async def check_password(ctx: OAuthContext, email: str, password: str) -> User:
    """Verify a user's password, throttling failed attempts per account."""
    user = await ctx.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    await _check_lockout(ctx, user)
    ok = await verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        await _record_failure(ctx, user)
        raise OAuthError("invalid_grant", "Invalid username or password", persist=True)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = clock.now()
    return user


async def password(
    ctx: OAuthContext, client: ApiClient, username: str, secret: str, scope: str | None
) -> TokenResult:
    if not ctx.settings.password_grant_enabled:
        raise OAuthError("unsupported_grant_type", "The password grant is disabled")
    _require_grant_type(client, "password")
    user = await check_password(ctx, username, secret)
    granted = narrow_scopes(scope, set(client.allowed_scopes), scope_catalog.user_ceiling(user))
    return await _issue_for_user(ctx, client, user, granted)


async def revoke_grant(session: AsyncSession, grant_id: uuid.UUID, reason: str) -> None:
    await session.execute(
        update(Grant)
        .where(Grant.id == grant_id, Grant.revoked_at.is_(None))
        .values(revoked_at=clock.now(), revoked_reason=reason)
    )


async def refresh(
    ctx: OAuthContext, client: ApiClient, token: str, scope: str | None
) -> TokenResult:
    _require_grant_type(client, "refresh_token")
    row = (
        await ctx.session.execute(
            select(RefreshToken, Grant)
            .join(Grant, Grant.id == RefreshToken.grant_id)
            .where(RefreshToken.token_hash == digest(token))
        )
    ).first()
    if row is None:
        raise OAuthError("invalid_grant", "Unknown refresh token")
    rt, grant = row
    if grant.client_pk != client.id:
        raise OAuthError("invalid_grant", "The refresh token was issued to another client")
    if grant.revoked_at is not None:
        raise OAuthError("invalid_grant", "The refresh token has been revoked")
    # Rotation: the token is spent now. A second use means it leaked: revoke the whole family.
    spent = await ctx.session.scalar(
        update(RefreshToken)
        .where(RefreshToken.id == rt.id, RefreshToken.used_at.is_(None))
        .values(used_at=clock.now())
        .returning(RefreshToken.id)
    )
    if spent is None:
        await revoke_grant(ctx.session, grant.id, "refresh_token_reuse")
        raise OAuthError(
            "invalid_grant",
            "The refresh token was already used; every token of this sign-in has been revoked",
            persist=True,
        )
    if rt.expires_at <= clock.now():
        raise OAuthError("invalid_grant", "The refresh token has expired")
    user = await ctx.session.get(User, grant.user_id) if grant.user_id else None
    if user is None or not user.is_active:
        raise OAuthError("invalid_grant", "The user is not active")
    granted = narrow_scopes(
        scope,
        set(grant.scope.split()),
        set(client.allowed_scopes),
        scope_catalog.user_ceiling(user),
    )
    return await _issue_for_user(ctx, client, user, granted, grant)


def pkce_matches(verifier: str, challenge: str) -> bool:
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return hmac.compare_digest(computed.decode(), challenge)


async def authorization_code(
    ctx: OAuthContext,
    client: ApiClient,
    code: str,
    redirect_uri: str | None,
    code_verifier: str | None,
) -> TokenResult:
    _require_grant_type(client, "authorization_code")
    # Locked so that of two concurrent exchanges one wins and the other sees it used.
    ac = await ctx.session.scalar(
        select(AuthorizationCode)
        .where(AuthorizationCode.code_hash == digest(code))
        .with_for_update()
    )
    if ac is None or ac.client_pk != client.id:
        raise OAuthError("invalid_grant", "Unknown authorization code")
    if ac.used_at is not None:
        if ac.grant_id is not None:
            await revoke_grant(ctx.session, ac.grant_id, "authorization_code_reuse")
        raise OAuthError(
            "invalid_grant",
            "The authorization code was already used; the tokens it issued have been revoked",
            persist=True,
        )
    ac.used_at = clock.now()
    # From here the code is spent whatever happens.
    if ac.expires_at <= clock.now():
        raise OAuthError("invalid_grant", "The authorization code has expired", persist=True)
    if redirect_uri is None and not ac.redirect_uri_sent:
        redirect_uri = ac.redirect_uri  # the authorization request left it out too
    if redirect_uri != ac.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri does not match", persist=True)
    if not code_verifier or not pkce_matches(code_verifier, ac.code_challenge):
        raise OAuthError("invalid_grant", "PKCE verification failed", persist=True)
    user = await ctx.session.get(User, ac.user_id)
    if user is None or not user.is_active:
        raise OAuthError("invalid_grant", "The user is not active", persist=True)
    granted = narrow_scopes(
        ac.scope or None, set(client.allowed_scopes), scope_catalog.user_ceiling(user)
    )
    grant = Grant(client_pk=client.id, user_id=user.id, scope=granted)
    ctx.session.add(grant)
    await ctx.session.flush()
    ac.grant_id = grant.id
    return await _issue_for_user(ctx, client, user, granted, grant)


# --- authorize endpoint ------------------------------------------------------------------


async def create_code(
    ctx: OAuthContext,
    client: ApiClient,
    user: User,
    redirect_uri: str,
    scope: str | None,
    code_challenge: str,
    *,
    redirect_uri_sent: bool = True,
) -> str:
    granted = narrow_scopes(scope, set(client.allowed_scopes), scope_catalog.user_ceiling(user))
    value = new_secret("aac_")
    now = clock.now()
    ctx.session.add(
        AuthorizationCode(
            code_hash=digest(value),
            client_pk=client.id,
            user_id=user.id,
            redirect_uri=redirect_uri,
            redirect_uri_sent=redirect_uri_sent,
            scope=granted,
            code_challenge=code_challenge,
            created_at=now,
            expires_at=now + timedelta(seconds=ctx.settings.authorization_code_ttl_seconds),
        )
    )
    return value


async def start_browser_session(ctx: OAuthContext, user: User) -> str:
    value = new_secret("abs_")
    now = clock.now()
    ctx.session.add(
        BrowserSession(
            token_hash=digest(value),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(seconds=ctx.settings.session_ttl_seconds),
        )
    )
    return value


async def browser_session_user(ctx: OAuthContext, value: str | None) -> User | None:
    if not value:
        return None
    row = (
        await ctx.session.execute(
            select(User)
            .join(BrowserSession, BrowserSession.user_id == User.id)
            .where(
                BrowserSession.token_hash == digest(value),
                BrowserSession.expires_at > clock.now(),
                User.is_active.is_(True),
            )
        )
    ).scalar_one_or_none()
    return row


# --- revocation and introspection --------------------------------------------------------


async def revoke(ctx: OAuthContext, client: ApiClient, token: str) -> None:
    """RFC 7009: revoke a refresh token (and its whole family) or an access token. Unknown or
    foreign tokens are ignored: the answer is 200 either way."""
    row = (
        await ctx.session.execute(
            select(RefreshToken.grant_id, Grant.client_pk)
            .join(Grant, Grant.id == RefreshToken.grant_id)
            .where(RefreshToken.token_hash == digest(token))
        )
    ).first()
    if row is not None:
        if row.client_pk == client.id:
            await revoke_grant(ctx.session, row.grant_id, "revoked")
        return
    try:
        claims = tokens.decode(token, ctx.keyring, ctx.settings, verify_exp=False)
    except tokens.InvalidToken:
        return
    if claims["client_id"] != client.client_id:
        return
    await ctx.session.execute(
        insert(RevokedAccessToken)
        .values(
            jti=claims["jti"],
            expires_at=clock.from_timestamp(claims["exp"]),
        )
        .on_conflict_do_nothing()
    )


INACTIVE: dict[str, Any] = {"active": False}


async def introspect(ctx: OAuthContext, client: ApiClient, token: str) -> dict[str, Any]:
    """RFC 7662. A client sees its own tokens; a client allowed ``admin`` sees any."""
    may_see_all = "admin" in client.allowed_scopes
    row = (
        await ctx.session.execute(
            select(RefreshToken, Grant, ApiClient, User)
            .join(Grant, Grant.id == RefreshToken.grant_id)
            .join(ApiClient, ApiClient.id == Grant.client_pk)
            .outerjoin(User, User.id == Grant.user_id)
            .where(RefreshToken.token_hash == digest(token))
        )
    ).first()
    if row is not None:
        rt, grant, owner, user = row
        if not may_see_all and owner.id != client.id:
            return INACTIVE
        if (
            rt.used_at is not None
            or grant.revoked_at is not None
            or rt.expires_at <= clock.now()
            or owner.revoked_at is not None
            or user is None
            or not user.is_active
        ):
            return INACTIVE
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": grant.scope,
            "client_id": owner.client_id,
            "sub": str(user.id),
            "username": user.email,
            "exp": int(rt.expires_at.timestamp()),
            "iat": int(rt.created_at.timestamp()),
            "iss": ctx.settings.issuer,
        }
    try:
        claims = tokens.decode(token, ctx.keyring, ctx.settings)
    except tokens.InvalidToken:
        return INACTIVE
    if not may_see_all and claims["client_id"] != client.client_id:
        return INACTIVE
    owner = await ctx.session.scalar(
        select(ApiClient).where(ApiClient.client_id == claims["client_id"])
    )
    if owner is None or owner.revoked_at is not None:
        return INACTIVE
    if await ctx.session.get(RevokedAccessToken, claims["jti"]) is not None:
        return INACTIVE
    sid = claims.get("sid")
    if sid is not None:
        grant = await ctx.session.get(Grant, sid)
        if grant is None or grant.revoked_at is not None:
            return INACTIVE
    username = None
    if claims["sub"] != claims["client_id"]:
        user = await ctx.session.get(User, uuid.UUID(claims["sub"]))
        if user is None or not user.is_active:
            return INACTIVE
        username = user.email
    out = {
        "active": True,
        "token_type": "Bearer",
        "scope": claims["scope"],
        "client_id": claims["client_id"],
        "sub": claims["sub"],
        "exp": claims["exp"],
        "iat": claims["iat"],
        "nbf": claims.get("nbf", claims["iat"]),
        "aud": claims["aud"],
        "iss": claims["iss"],
        "jti": str(claims["jti"]),
    }
    if username:
        out["username"] = username
    return out
