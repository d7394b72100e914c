import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from app.models.users import PartnerRole, UserKind

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]


class Strict(BaseModel):
    """Request bodies: unknown and read-only fields are refused (no mass assignment)."""

    model_config = ConfigDict(extra="forbid")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    kind: UserKind
    is_admin: bool
    is_active: bool
    role_id: uuid.UUID | None
    manager_id: uuid.UUID | None
    partner_account_id: uuid.UUID | None
    partner_role: PartnerRole | None
    contact_id: uuid.UUID | None
    time_zone: str
    locale: str
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None
    deactivated_at: datetime | None


class UserCreate(Strict):
    email: EmailStr
    name: Name
    password: Password | None = Field(
        None, description="Optional: a user without a password signs in only through SSO later"
    )
    kind: UserKind = UserKind.internal
    is_admin: bool = False
    role_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None
    partner_account_id: uuid.UUID | None = None
    partner_role: PartnerRole | None = None
    contact_id: uuid.UUID | None = None
    time_zone: str = "UTC"
    locale: str = "en_US"


class UserUpdate(Strict):
    email: EmailStr | None = None
    name: Name | None = None
    password: Password | None = None
    is_admin: bool | None = None
    role_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None
    partner_role: PartnerRole | None = None
    time_zone: str | None = None
    locale: str | None = None


class RoleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    parent_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class RoleCreate(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    description: str | None = Field(None, max_length=500)
    parent_id: uuid.UUID | None = None


class RoleUpdate(Strict):
    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] | None
    ) = None
    description: str | None = Field(None, max_length=500)
    parent_id: uuid.UUID | None = None


GrantType = Literal["client_credentials", "password", "refresh_token", "authorization_code"]


class ApiClientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: str
    name: str
    public: bool
    allowed_scopes: list[str]
    grant_types: list[str]
    redirect_uris: list[str]
    user_id: uuid.UUID | None
    partner_account_id: uuid.UUID | None
    created_at: datetime
    secret_rotated_at: datetime | None
    revoked_at: datetime | None


class ApiClientWithSecret(ApiClientOut):
    client_secret: str | None = Field(
        description="Shown only in this response; store it now. Null for public clients."
    )


class ApiClientCreate(Strict):
    name: Name
    scopes: list[str] = Field(description="The scopes this client may ask for")
    grant_types: list[GrantType] = Field(default_factory=lambda: ["client_credentials"])
    redirect_uris: list[Annotated[str, StringConstraints(max_length=2000)]] = Field(
        default_factory=list
    )
    user_id: uuid.UUID | None = Field(
        None, description="Act as this user; omit for a service principal of its own"
    )
    public: bool = Field(
        False, description="A public client (single-page or mobile app): no secret, PKCE only"
    )


class Me(BaseModel):
    kind: str
    client_id: str
    scopes: list[str]
    user: UserOut | None = None
