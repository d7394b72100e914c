import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.contacts.schemas import LastName, PersonFields, RecordOut, Short
from app.models.accounts import AccountType

Company = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class _LeadFields(PersonFields):
    status: Short | None = None
    rating: Annotated[str, StringConstraints(max_length=20)] | None = None
    industry: Short | None = None
    website: Annotated[str, StringConstraints(max_length=255)] | None = None
    annual_revenue: Annotated[Decimal, Field(max_digits=18, decimal_places=2, ge=0)] | None = None
    number_of_employees: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    product_interest: Annotated[str, StringConstraints(max_length=255)] | None = Field(
        None, description="The product or product line the lead is interested in"
    )
    score: Annotated[int, Field(ge=0, le=1000)] | None = Field(
        None, description="The vendor's lead score; internal: partners never see or set it"
    )
    partner_account_id: uuid.UUID | None = Field(
        None,
        description="The partner the lead is shared with; set by the system when a partner user"
        " owns or creates the lead",
    )


class LeadCreate(_LeadFields):
    model_config = ConfigDict(extra="forbid")

    last_name: LastName
    company: Company
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    status: Short | None = Field(
        None,
        description="An active lead status; defaults to the picklist's default value"
        " ('Open - Not Contacted' unless an administrator changed it)",
    )
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


class NewAccount(BaseModel):
    """Fields for the account conversion creates (anything left out comes from the lead)."""

    model_config = ConfigDict(extra="forbid")

    name: Company | None = None
    type: AccountType | None = None
    industry: Short | None = None


class LeadConvert(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: uuid.UUID | None = Field(None, description="Attach to this existing account")
    account: NewAccount | None = Field(
        None, description="Create a new account (the default when account_id is not given)"
    )
    contact_id: uuid.UUID | None = Field(
        None, description="Attach to this existing contact; it must belong to the account"
    )
    create_opportunity: bool = True
    opportunity_name: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    converted_status: Short | None = Field(
        None,
        description="An active lead status flagged is_converted; defaults to the first one"
        " ('Closed - Converted' unless an administrator changed the picklist)",
    )
    owner_id: uuid.UUID | None = Field(
        None, description="Owner of the new records and the lead's open activities"
    )
    overwrite_lead_source: bool = Field(
        False, description="Set the existing contact's lead source from the lead"
    )


class LeadConvertResult(BaseModel):
    lead_id: uuid.UUID
    account_id: uuid.UUID
    contact_id: uuid.UUID
    opportunity_id: uuid.UUID | None
    lead: Lead


class LeadBulkConvertItem(LeadConvert):
    lead_id: uuid.UUID


class LeadBulkConvert(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversions: list[LeadBulkConvertItem] = Field(
        min_length=1, max_length=100, description="Up to 100 leads, each converted on its own"
    )


class LeadBulkConverted(BaseModel):
    lead_id: uuid.UUID
    status: Literal[200] = 200
    body: LeadConvertResult


class LeadBulkConvertFailed(BaseModel):
    lead_id: uuid.UUID
    status: int = Field(description="What a single conversion of this lead would have answered")
    problem: dict[str, Any] = Field(description="An RFC 9457 problem document (see Problem)")


class LeadBulkConvertResult(BaseModel):
    results: list[LeadBulkConverted | LeadBulkConvertFailed] = Field(
        description="One per requested conversion, in the order given"
    )
