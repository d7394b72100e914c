"""Every ORM model, imported here so that ``app.models`` is the complete metadata."""

from app.models.accounts import Account, AccountType
from app.models.base import Base
from app.models.history import Change, FieldHistory
from app.models.idempotency import IdempotencyKey
from app.models.oauth import (
    ApiClient,
    AuthorizationCode,
    BrowserSession,
    Grant,
    RefreshToken,
    RevokedAccessToken,
    SigningKey,
)
from app.models.people import Contact, Lead
from app.models.users import PartnerRole, Role, User, UserKind

__all__ = [
    "Account",
    "AccountType",
    "ApiClient",
    "AuthorizationCode",
    "Base",
    "BrowserSession",
    "Change",
    "Contact",
    "FieldHistory",
    "Grant",
    "IdempotencyKey",
    "Lead",
    "PartnerRole",
    "RefreshToken",
    "RevokedAccessToken",
    "Role",
    "SigningKey",
    "User",
    "UserKind",
]
