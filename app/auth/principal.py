"""Who is calling: the bearer token resolved, once per request, into a :class:`Principal`.

A token is accepted only if its signature, algorithm and claims verify *and* the database agrees
it is still good: the client not revoked, the grant not revoked, the token not revoked, the user
active. Its scopes are narrowed to what the client and the user may have *now*, so demoting a user
or trimming a client takes effect at once rather than when tokens expire.
"""

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.openapi.models import (
    OAuthFlowAuthorizationCode,
    OAuthFlowClientCredentials,
    OAuthFlowPassword,
    OAuthFlows,
)
from fastapi.security import OAuth2, SecurityScopes
from sqlalchemy import bindparam, exists, false, func, select
from sqlalchemy.orm import aliased

from app.auth import scopes as scope_catalog
from app.auth import tokens
from app.auth.cache import principals
from app.kit.db import Prepared, Session
from app.kit.errors import InsufficientScope, Unauthorized
from app.models import ApiClient, Grant, RevokedAccessToken, User, UserKind


class PrincipalKind(enum.StrEnum):
    user = "user"  # an internal user (possibly through an API client acting as them)
    partner_user = "partner_user"
    portal_user = "portal_user"
    service = "service"  # an API client acting as itself


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    scopes: frozenset[str]
    client_pk: uuid.UUID
    client_id: str
    user_id: uuid.UUID | None = None
    is_admin: bool = False
    role_id: uuid.UUID | None = None
    partner_account_id: uuid.UUID | None = None
    partner_role: str | None = None
    contact_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None
    grant_id: uuid.UUID | None = None
    # An internal user's: the users whose records roll up to it (partner users of the partner
    # accounts it manages, users in roles below its role), loaded with it; None where not
    # loaded (too many, or a principal made in code), and app/access looks them up in SQL.
    # Kept only as long as the principal: changes to roles, and to an account's owner or
    # channel manager, drop cached principals as changes to users do (app/auth/cache.py).
    below: tuple[uuid.UUID, ...] | None = None
    # What app/access/shapes.py derives from the principal, kept with it: a principal is cached
    # per token and serves many requests.
    access_memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def has(self, scope: str) -> bool:
        return scope in self.scopes


oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth/token", scopes=scope_catalog.SCOPES
        ),
        authorizationCode=OAuthFlowAuthorizationCode(
            authorizationUrl="/oauth/authorize",
            tokenUrl="/oauth/token",
            refreshUrl="/oauth/token",
            scopes=scope_catalog.SCOPES,
        ),
        password=OAuthFlowPassword(
            tokenUrl="/oauth/token", refreshUrl="/oauth/token", scopes=scope_catalog.SCOPES
        ),
    ),
    scheme_name="OAuth2",
    description="Access tokens from this service's own OAuth 2 server (`/oauth/token`).",
    auto_error=False,
)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("Missing bearer token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'")
    return token.strip()


def _invalid(detail: str) -> Unauthorized:
    return Unauthorized(
        detail,
        code="invalid_token",
        headers={"WWW-Authenticate": 'Bearer realm="accord", error="invalid_token"'},
    )


def _lookup(with_user: bool, with_grant: bool):
    """The one query that checks a verified token against the database. Built once per shape
    with bound parameters, so each request reuses the compiled statement. With a user, it also
    lists the users below them (``Principal.below``), at most one more than
    ``access.MAX_BELOW``."""
    from app import access  # app.access builds on this module

    user = aliased(User, name="principal_user")
    grant_revoked = (
        exists().where(Grant.id == bindparam("sid"), Grant.revoked_at.is_not(None))
        if with_grant
        else false()
    )
    # Columns, not entities: no ORM objects for a check every request makes.
    stmt = select(
        ApiClient.id.label("client_pk"),
        ApiClient.client_id,
        ApiClient.allowed_scopes,
        ApiClient.revoked_at,
        ApiClient.partner_account_id.label("client_partner_account_id"),
        user.id.label("user_pk"),
        user.kind,
        user.is_admin,
        user.is_active,
        user.role_id,
        user.partner_account_id,
        user.partner_role,
        user.contact_id,
        exists().where(RevokedAccessToken.jti == bindparam("jti")).label("jti_revoked"),
        grant_revoked.label("grant_revoked"),
    ).where(ApiClient.client_id == bindparam("client_id"))
    if with_user:
        me = aliased(User, name="me")
        role = select(me.role_id).where(me.id == bindparam("user_id")).scalar_subquery()
        ids = access.owners_below(bindparam("user_id"), role).limit(access.MAX_BELOW + 1)
        ids = ids.subquery("below")
        below = select(func.array_agg(ids.c.id)).scalar_subquery()
        stmt = stmt.add_columns(below.label("below"))
    return stmt.outerjoin(user, user.id == bindparam("user_id") if with_user else false())


_LOOKUP: dict[tuple[bool, bool], Prepared] = {}


def _lookup_for(with_user: bool, with_grant: bool) -> Prepared:
    found = _LOOKUP.get((with_user, with_grant))
    if found is None:
        found = _LOOKUP[(with_user, with_grant)] = Prepared(_lookup(with_user, with_grant))
    return found


async def resolve(request: Request, session, token: str) -> Principal:
    """Verify an access token and load the principal it stands for."""
    state = request.app.state
    try:
        if not tokens.is_verified(token, state.settings):
            kid = tokens.unverified_kid(token)
            if kid and not state.keyring.has(kid):
                await state.keyring.maybe_reload(state.engine, force=True)
        claims = tokens.decode(token, state.keyring, state.settings)
    except tokens.InvalidToken as exc:
        raise _invalid("The access token is invalid or expired") from exc

    cached = principals.get(token)
    if cached is not None:
        return cached
    generation = principals.generation
    principal = await _load(session, claims)
    principals.put(token, principal, generation)
    return principal


async def _load(session, claims: dict) -> Principal:
    """The database's view of a verified token: who it stands for now, with which scopes."""
    sub = claims["sub"]
    user_id: uuid.UUID | None = None
    if sub != claims["client_id"]:
        try:
            user_id = uuid.UUID(sub)
        except ValueError as exc:
            raise _invalid("The access token is invalid or expired") from exc

    sid = claims.get("sid")
    stmt = _lookup_for(user_id is not None, sid is not None)
    params = {"client_id": claims["client_id"], "jti": claims["jti"]}
    if user_id is not None:
        params["user_id"] = user_id
    if sid is not None:
        params["sid"] = sid
    record = await stmt.fetchrow(session, params)
    if record is None:
        raise _invalid("The access token is invalid or expired")
    row = SimpleNamespace(**record)
    if row.revoked_at is not None or row.jti_revoked or row.grant_revoked:
        raise _invalid("The access token has been revoked")
    if user_id is not None and (row.user_pk is None or not row.is_active):
        raise _invalid("The user of this token is not active")

    granted = set(claims["scope"].split()) & set(row.allowed_scopes)
    if row.user_pk is None:
        if row.client_partner_account_id is not None:
            # A partner's own system: never more than a partner user may have (app/partners).
            granted &= scope_catalog.PARTNER_SCOPES
        granted = scope_catalog.with_implied(granted)
        return Principal(
            kind=PrincipalKind.service,
            scopes=frozenset(granted),
            client_pk=row.client_pk,
            client_id=row.client_id,
            is_admin="admin" in granted,
            partner_account_id=row.client_partner_account_id,
            token_id=claims["jti"],
            grant_id=sid,
        )
    user = row
    granted = scope_catalog.with_implied(granted & scope_catalog.user_ceiling(user))
    kind = {
        UserKind.internal: PrincipalKind.user,
        UserKind.partner: PrincipalKind.partner_user,
        UserKind.portal: PrincipalKind.portal_user,
    }[user.kind]
    return Principal(
        kind=kind,
        scopes=frozenset(granted),
        client_pk=row.client_pk,
        client_id=row.client_id,
        user_id=row.user_pk,
        is_admin=user.is_admin and user.kind == UserKind.internal,
        role_id=user.role_id,
        partner_account_id=user.partner_account_id,
        partner_role=user.partner_role,
        contact_id=user.contact_id,
        token_id=claims["jti"],
        grant_id=sid,
        below=_below(kind, user.below),
    )


def _below(kind: PrincipalKind, ids: list[uuid.UUID] | None) -> tuple[uuid.UUID, ...] | None:
    from app import access

    if kind != PrincipalKind.user:
        return None  # partner and portal users' access never looks at roles
    ids = ids or []
    return None if len(ids) > access.MAX_BELOW else tuple(ids)


async def authorize(request: Request, session, needed: Sequence[str]) -> Principal:
    """The caller of ``request``, who must hold every scope in ``needed`` (401 / 403)."""
    principal = await resolve(request, session, _bearer(request.headers.get("authorization")))
    for scope in needed:
        if scope not in principal.scopes:
            raise InsufficientScope(scope)
    request.state.principal = principal
    return principal


async def authenticate(
    request: Request,
    security_scopes: SecurityScopes,
    session: Session,
    # Declared for the OpenAPI document (the security scheme); read by ``authorize``.
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    return await authorize(request, session, security_scopes.scopes)


def require(*needed: str):
    """A dependency that authenticates the caller and demands every scope in ``needed``."""
    return Security(authenticate, scopes=list(needed))


CurrentPrincipal = Annotated[Principal, Security(authenticate)]
