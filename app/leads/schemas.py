import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from app.contacts.schemas import LastName, PersonFields, RecordOut, Short

Company = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class _LeadFields(PersonFields):
    status: Short | None = None
    rating: Annotated[str, StringConstraints(max_length=20)] | None = None
    industry: Short | None = None
    website: Annotated[str, StringConstraints(max_length=255)] | None = None
    annual_revenue: Annotated[Decimal, Field(max_digits=18, decimal_places=2, ge=0)] | None = None
    number_of_employees: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    score: Annotated[int, Field(ge=0, le=1000)] | None = None


class LeadCreate(_LeadFields):
    model_config = ConfigDict(extra="forbid")

    last_name: LastName
    company: Company
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    status: Short = "Open - Not Contacted"
    do_not_call: bool = False
    has_opted_out_of_email: bool = False


class LeadUpdate(_LeadFields):
    model_config = ConfigDict(extra="forbid")

    last_name: LastName | None = None
    company: Company | None = None
    owner_id: uuid.UUID | None = None


class Lead(RecordOut, _LeadFields):
    last_name: str
    company: str
    status: str
    email: str | None = None
    do_not_call: bool
    has_opted_out_of_email: bool
    is_converted: bool
    converted_at: datetime | None
    converted_account_id: uuid.UUID | None
    converted_contact_id: uuid.UUID | None
    converted_opportunity_id: uuid.UUID | None
