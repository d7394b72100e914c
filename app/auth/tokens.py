"""Access tokens: JWTs (RFC 9068 style) signed with the key ring's current key.

Verification pins the algorithm, requires every claim and checks issuer, audience and expiry;
revocation and the principal's current state are checked against the database by
``app.auth.principal``.
"""

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt

from app.auth.keys import ALGORITHM, KeyRing
from app.config import Settings
from app.kit import clock
from app.kit.ids import new_id

REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti", "scope", "client_id"]


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: uuid.UUID
    expires_in: int


def issue_access_token(
    keyring: KeyRing,
    settings: Settings,
    *,
    subject: str,
    client_id: str,
    scope: str,
    grant_id: uuid.UUID | None = None,
) -> IssuedToken:
    now = clock.now()
    jti = new_id()
    ttl = settings.access_token_ttl_seconds
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "client_id": client_id,
        "scope": scope,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "jti": str(jti),
    }
    if grant_id is not None:
        claims["sid"] = str(grant_id)
    kid, key = keyring.signing
    token = jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "at+jwt"})
    return IssuedToken(token, jti, ttl)


class InvalidToken(Exception):
    pass


def unverified_kid(token: str) -> str | None:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("unexpected algorithm")
    kid = header.get("kid")
    return kid if isinstance(kid, str) else None


# Tokens whose signature and claims were already verified, so a client reusing its token does
# not pay for ECDSA on every request. Only what cannot change is cached: expiry, the signing
# key's retirement and revocation are checked on every use (revocation by the caller, in SQL).
_VERIFIED: OrderedDict[tuple[str, str, str], tuple[str, dict[str, Any]]] = OrderedDict()
_CACHE_SIZE = 10_000


def is_verified(token: str, settings: Settings) -> bool:
    """Whether this token's signature was already verified (its key need not be looked up)."""
    return (token, settings.issuer, settings.jwt_audience) in _VERIFIED


def _verified_claims(token: str, keyring: KeyRing, settings: Settings) -> tuple[str, dict]:
    cache_key = (token, settings.issuer, settings.jwt_audience)
    hit = _VERIFIED.get(cache_key)
    if hit is not None:
        _VERIFIED.move_to_end(cache_key)
        return hit
    kid = unverified_kid(token)
    key = keyring.verification_key(kid) if kid else None
    if key is None:
        raise InvalidToken("unknown signing key")
    try:
        # Times are checked by decode() against the service clock (which tests can move).
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.issuer,
            options={
                "require": REQUIRED_CLAIMS,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if not isinstance(claims.get("exp"), int | float) or not isinstance(
        claims.get("iat"), int | float
    ):
        raise InvalidToken("malformed times")
    try:
        claims["jti"] = uuid.UUID(claims["jti"])
        if "sid" in claims:
            claims["sid"] = uuid.UUID(claims["sid"])
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidToken("malformed claims") from exc
    if not isinstance(claims["scope"], str) or not isinstance(claims["client_id"], str):
        raise InvalidToken("malformed claims")
    _VERIFIED[cache_key] = (kid, claims)
    if len(_VERIFIED) > _CACHE_SIZE:
        _VERIFIED.popitem(last=False)
    return kid, claims


def decode(
    token: str, keyring: KeyRing, settings: Settings, *, verify_exp: bool = True
) -> dict[str, Any]:
    kid, claims = _verified_claims(token, keyring, settings)
    if keyring.verification_key(kid) is None:  # the key was retired since
        raise InvalidToken("unknown signing key")
    now = clock.timestamp()
    if verify_exp and claims["exp"] <= now:
        raise InvalidToken("token expired")
    if claims["iat"] > now + 60:
        raise InvalidToken("token issued in the future")
    return dict(claims)
