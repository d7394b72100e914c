"""The OAuth 2 server's state: clients, grants (token families), refresh tokens, authorization
codes, browser sessions, revoked access tokens and signing keys.

Secrets are never stored: client secrets, refresh tokens, codes and session ids are random
256-bit values kept as SHA-256 digests (a slow hash adds nothing for values with that much
entropy, and would put argon2 on every token request).
"""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin


class ApiClient(IdMixin, TimestampMixin, Base):
    """A registered OAuth client. ``user_id`` set: the client acts as that user under
    ``client_credentials``; unset: it is a service principal of its own."""

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[bytes | None] = mapped_column(LargeBinary)  # None: a public client (PKCE)
    allowed_scopes: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    grant_types: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    redirect_uris: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    partner_account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    secret_rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def public(self) -> bool:
        """A public client (single-page or mobile app) has no secret and must use PKCE."""
        return self.secret_hash is None


class Grant(IdMixin, TimestampMixin, Base):
    """One authorization: everything issued from one password login or one authorization code.
    Revoking it revokes every refresh and access token of the family."""

    __tablename__ = "oauth_grants"

    client_pk: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("api_clients.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(Text, default="")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(60))


class RefreshToken(IdMixin, Base):
    __tablename__ = "oauth_refresh_tokens"

    grant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuthorizationCode(IdMixin, Base):
    __tablename__ = "oauth_authorization_codes"

    code_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    client_pk: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("api_clients.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str] = mapped_column(Text)
    # RFC 6749 4.1.3: the token request must repeat redirect_uri only if the authorization
    # request sent it (a client with one registered URI may leave it out).
    redirect_uri_sent: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    scope: Mapped[str] = mapped_column(Text, default="")
    code_challenge: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The grant the first exchange created: revoked if the code is presented again.
    grant_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("oauth_grants.id", ondelete="SET NULL")
    )


class BrowserSession(IdMixin, Base):
    """A signed-in browser at ``/oauth/authorize`` (cookie), so a user logs in once per session."""

    __tablename__ = "oauth_browser_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RevokedAccessToken(Base):
    """Access tokens revoked before they expire (RFC 7009); a row can go once it expires."""

    __tablename__ = "oauth_revoked_access_tokens"

    jti: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class SigningKey(Base):
    """Keys that sign access tokens. The newest active key signs; a retired key stays published
    (and valid for verification) until ``verify_until``, when every token it signed has expired."""

    __tablename__ = "oauth_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    private_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verify_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
