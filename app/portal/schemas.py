import uuid
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from app.solutions.schemas import SolutionSuggestion

Name80 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]
Status = Literal["unverified", "pending", "approved", "rejected", "expired"]


# --- registration ------------------------------------------------------------------------------


class RegistrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    first_name: Name80 | None = None
    last_name: Name80
    company: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] | None = None
    phone: Phone | None = None
    password: Password = Field(
        description="At least 10 characters, not the email address or a common password"
    )


class RegistrationReceived(BaseModel):
    status: Literal["received"] = "received"
    detail: str = (
        "If this address can register, we have sent it a link to confirm it. Follow the link to"
        " finish the registration."
    )


class Registration(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    first_name: str | None
    last_name: str
    company: str | None
    phone: str | None
    status: Status
    email_verified_at: datetime | None
    approved_by: str | None = Field(
        description="website_domain, allowed_domain (approved by rule) or admin"
    )
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    user_id: uuid.UUID | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    reason: str | None
    created_at: datetime
    updated_at: datetime


class RegistrationApprove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: uuid.UUID | None = Field(
        None,
        description="The customer account; defaults to the one the registration rules find",
    )
    contact_id: uuid.UUID | None = Field(
        None,
        description="An existing contact of that account to link; by default the account's"
        " contact with the registration's email, else a new contact",
    )


class RegistrationReject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class VerifyResult(BaseModel):
    status: Status
    detail: str


class DomainCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True,
            to_lower=True,
            min_length=3,
            max_length=255,
            pattern=r"^(?i)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        ),
    ]
    account_id: uuid.UUID


class Domain(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    domain: str
    account_id: uuid.UUID
    created_by: uuid.UUID | None
    created_at: datetime


# --- my profile --------------------------------------------------------------------------------


class Profile(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    locale: str
    time_zone: str
    contact_id: uuid.UUID
    account_id: uuid.UUID | None
    first_name: str | None
    last_name: str
    title: str | None
    phone: str | None
    mobile_phone: str | None


def _zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("Not a known IANA time zone") from exc
    return value


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | (
        None
    ) = None
    first_name: Name80 | None = None
    last_name: Name80 | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None = None
    phone: Phone | None = None
    mobile_phone: Phone | None = None
    locale: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}([_-][A-Za-z]{2,4})?$")] | (
        None
    ) = None
    time_zone: Annotated[str, StringConstraints(max_length=64)] | None = None
    current_password: Annotated[str, StringConstraints(max_length=256)] | None = Field(
        None, description="Required with new_password"
    )
    new_password: Password | None = Field(
        None, description="Changing it signs you out of your other sessions"
    )

    _tz = field_validator("time_zone")(_zone)


# --- my cases ----------------------------------------------------------------------------------


class PortalCase(BaseModel):
    """A case as its customer sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_number: str
    subject: str | None
    description: str | None
    status: str
    priority: str | None
    origin: str | None
    type: str | None
    reason: str | None
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    product_id: uuid.UUID | None
    language: str | None
    is_closed: bool
    closed_at: datetime | None
    satisfaction_score: int | None
    satisfaction_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class PortalCaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    description: Annotated[str, StringConstraints(max_length=32000)] | None = None
    type: Annotated[str, StringConstraints(max_length=80)] | None = None
    priority: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="An active case priority (see GET /api/v1/picklists/cases/priority)"
    )
    product_id: uuid.UUID | None = None
    language: Annotated[str, StringConstraints(max_length=16)] | None = None


class PortalCaseCreated(PortalCase):
    suggested_solutions: list[SolutionSuggestion] = Field(
        default_factory=list,
        description="Published solutions that may answer the case (Salesforce's suggested"
        " solutions): if one does, close the case",
    )


class PortalComment(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    body: str
    created_by: uuid.UUID | None
    created_at: datetime


class PortalCommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class PortalClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)
    ] | (None) = Field(None, description="Why you close it (added as a comment)")


class PortalReopen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)
    ] | (None) = Field(None, description="Why you reopen it (added as a comment)")
