import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from app.admin.schemas import Name, Password
from app.models.accounts import PartnerStatus, PartnerTier
from app.models.users import PartnerRole

Program = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Short = Annotated[str, StringConstraints(max_length=80)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartnerAccount(BaseModel):
    """An account enabled as a partner, with its program fields."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The account's id")
    name: str
    owner_id: uuid.UUID
    is_partner: bool
    partner_program: str | None
    partner_tier: PartnerTier | None
    partner_status: PartnerStatus | None
    channel_manager_id: uuid.UUID | None = Field(
        description="The internal user who owns the relationship"
    )
    partner_onboarded_on: date | None
    version: int
    created_at: datetime
    updated_at: datetime


class _ProgramFields(Strict):
    partner_program: Program | None = Field(None, description="The partner program's name")
    partner_tier: PartnerTier | None = None
    partner_status: PartnerStatus | None = None
    channel_manager_id: uuid.UUID | None = Field(
        None, description="An active internal user; defaults to the caller when enabling"
    )
    partner_onboarded_on: date | None = Field(None, description="Defaults to today when enabling")


class PartnerEnable(_ProgramFields):
    partner_tier: PartnerTier = PartnerTier.bronze
    partner_status: PartnerStatus = PartnerStatus.active


class PartnerUpdate(_ProgramFields):
    pass


class PartnerDisable(Strict):
    partner_status: Literal[PartnerStatus.inactive, PartnerStatus.terminated] = (
        PartnerStatus.inactive
    )


class PartnerUserCreate(Strict):
    email: EmailStr
    name: Name
    password: Password | None = Field(
        None, description="Optional: without one the user cannot sign in with a password"
    )
    partner_role: PartnerRole
    contact_id: uuid.UUID | None = Field(
        None,
        description="An existing contact of the partner account; when left out a contact is"
        " created from the fields below",
    )
    first_name: Short | None = None
    last_name: Short | None = Field(None, description="Defaults to the last word of `name`")
    title: Annotated[str, StringConstraints(max_length=128)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    time_zone: str = "UTC"
    locale: str = "en_US"


class PartnerClientCreate(Strict):
    name: Name
    scopes: list[str] = Field(
        description="Scopes the partner's system may ask for; at most what partner users may"
        " have (e.g. `deals:register leads:read`)"
    )
