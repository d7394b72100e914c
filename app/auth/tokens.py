"""Access tokens: JWTs (RFC 9068 style) signed with the key ring's current key.

Verification pins the algorithm, requires every claim and checks issuer, audience and expiry;
revocation and the principal's current state are checked against the database by
``app.auth.principal``.
"""

import uuid
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


def decode(
    token: str, keyring: KeyRing, settings: Settings, *, verify_exp: bool = True
) -> dict[str, Any]:
    kid = unverified_kid(token)
    key = keyring.verification_key(kid) if kid else None
    if key is None:
        raise InvalidToken("unknown signing key")
    try:
        # Times are checked below against the service clock (which tests can move).
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
    now = clock.now().timestamp()
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise InvalidToken("malformed times")
    if verify_exp and exp <= now:
        raise InvalidToken("token expired")
    if iat > now + 60:
        raise InvalidToken("token issued in the future")
    try:
        claims["jti"] = uuid.UUID(claims["jti"])
        if "sid" in claims:
            claims["sid"] = uuid.UUID(claims["sid"])
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidToken("malformed claims") from exc
    if not isinstance(claims["scope"], str) or not isinstance(claims["client_id"], str):
        raise InvalidToken("malformed claims")
    return claims
