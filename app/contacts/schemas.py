import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from app.customfields.schemas import CustomFieldValues, custom_fields_out

Short = Annotated[str, StringConstraints(max_length=80)]
Phone = Annotated[str, StringConstraints(max_length=40)]
LastName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class PersonFields(BaseModel):
    """Fields contacts and leads share."""

    salutation: Annotated[str, StringConstraints(max_length=20)] | None = None
    first_name: Short | None = None
    title: Annotated[str, StringConstraints(max_length=128)] | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    mobile_phone: Phone | None = None
    lead_source: Short | None = None
    description: Annotated[str, StringConstraints(max_length=32000)] | None = None
    do_not_call: bool | None = None
    has_opted_out_of_email: bool | None = None
    street: Annotated[str, StringConstraints(max_length=255)] | None = None
    city: Short | None = None
    state: Short | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    country: Short | None = None
    external_id: Annotated[str, StringConstraints(max_length=255)] | None = None


class RecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    owner_id: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None
    updated_by: uuid.UUID | None
    custom_fields: CustomFieldValues = custom_fields_out()


class _ContactFields(PersonFields):
    account_id: uuid.UUID | None = None
    department: Short | None = None
    reports_to_id: uuid.UUID | None = None
    birthdate: date | None = None


class ContactCreate(_ContactFields):
    model_config = ConfigDict(extra="forbid")

    last_name: LastName
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    do_not_call: bool = False
    has_opted_out_of_email: bool = False


class ContactUpdate(_ContactFields):
    model_config = ConfigDict(extra="forbid")

    last_name: LastName | None = None
    owner_id: uuid.UUID | None = None


class Contact(RecordOut, _ContactFields):
    last_name: str
    email: str | None = None
    do_not_call: bool
    has_opted_out_of_email: bool
