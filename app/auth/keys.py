"""Signing keys for access tokens, kept in PostgreSQL so every API process shares them.

ES256 with a ``kid`` per key. Rotation makes a new key the signer; the old one stays published in
the JWKS and valid for verification until every token it signed has expired. Each process caches
the key set and reloads it periodically, and at once when it meets an unknown ``kid``.
"""

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import Settings
from app.kit import clock
from app.kit.ids import new_id
from app.models.oauth import SigningKey

ALGORITHM = "ES256"
RELOAD_SECONDS = 60.0
MIN_RELOAD_GAP = 2.0


@dataclass(frozen=True)
class _Key:
    kid: str
    public_key: Any
    jwk: dict[str, Any]
    verify_until: datetime | None


def _password(settings: Settings) -> bytes | None:
    return settings.secret_key.encode() if settings.secret_key else None


def _new_key_row(settings: Settings) -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    pw = _password(settings)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(pw) if pw else serialization.NoEncryption(),
    ).decode()
    kid = new_id().hex
    jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    return SigningKey(
        kid=kid,
        algorithm=ALGORITHM,
        private_pem=pem,
        public_jwk=jwk,
        created_at=clock.now(),
        active=True,
    )


class KeyRing:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._keys: dict[str, _Key] = {}
        self._signing_kid: str | None = None
        self._signing_key: Any = None
        self._loaded_at = 0.0

    async def load(self, engine: AsyncEngine) -> None:
        """Read the key set, creating the first key if there is none (once, across processes)."""
        async with AsyncSession(engine, expire_on_commit=False) as session:
            rows = (await session.scalars(select(SigningKey))).all()
            if not any(r.active for r in rows):
                await session.execute(text("SELECT pg_advisory_xact_lock(7346001)"))
                rows = (await session.scalars(select(SigningKey))).all()
                if not any(r.active for r in rows):
                    session.add(_new_key_row(self.settings))
                    await session.flush()
                    rows = (await session.scalars(select(SigningKey))).all()
                await session.commit()
        self._install(rows)

    def _install(self, rows: list[SigningKey]) -> None:
        keys: dict[str, _Key] = {}
        signer: SigningKey | None = None
        for r in rows:
            keys[r.kid] = _Key(
                r.kid,
                ECAlgorithm(ECAlgorithm.SHA256).from_jwk(r.public_jwk),
                r.public_jwk,
                r.verify_until,
            )
            if r.active and (signer is None or r.created_at > signer.created_at):
                signer = r
        assert signer is not None
        if signer.kid != self._signing_kid:
            self._signing_key = serialization.load_pem_private_key(
                signer.private_pem.encode(), password=_password(self.settings)
            )
            self._signing_kid = signer.kid
        self._keys = keys
        self._loaded_at = time.monotonic()

    async def maybe_reload(self, engine: AsyncEngine, *, force: bool = False) -> None:
        age = time.monotonic() - self._loaded_at
        if age > RELOAD_SECONDS or (force and age > MIN_RELOAD_GAP):
            await self.load(engine)

    @property
    def signing(self) -> tuple[str, Any]:
        assert self._signing_kid is not None, "key ring not loaded"
        return self._signing_kid, self._signing_key

    def verification_key(self, kid: str) -> Any | None:
        key = self._keys.get(kid)
        if key is None:
            return None
        if key.verify_until is not None and key.verify_until <= clock.now():
            return None
        return key.public_key

    def has(self, kid: str) -> bool:
        return kid in self._keys

    def jwks(self) -> dict[str, Any]:
        now = clock.now()
        return {
            "keys": [
                k.jwk for k in self._keys.values() if k.verify_until is None or k.verify_until > now
            ]
        }


async def rotate(session: AsyncSession, settings: Settings) -> SigningKey:
    """Make a new signing key; retire the others once every token they signed has expired."""
    now = clock.now()
    grace = timedelta(seconds=settings.access_token_ttl_seconds + RELOAD_SECONDS + 60)
    await session.execute(text("SELECT pg_advisory_xact_lock(7346001)"))
    await session.execute(
        update(SigningKey)
        .where(SigningKey.active.is_(True))
        .values(active=False, retired_at=now, verify_until=now + grace)
    )
    row = _new_key_row(settings)
    session.add(row)
    await session.flush()
    return row
