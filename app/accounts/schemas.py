import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.customfields.schemas import CustomFieldValues, custom_fields_out
from app.models.accounts import AccountType, PartnerStatus, PartnerTier

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Short = Annotated[str, StringConstraints(max_length=80)]
Money = Annotated[Decimal, Field(max_digits=18, decimal_places=2, ge=0)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class _AccountFields(BaseModel):
    account_number: Annotated[str, StringConstraints(max_length=40)] | None = None
    type: AccountType | None = None
    industry: Short | None = None
    rating: Annotated[str, StringConstraints(max_length=20)] | None = None
    parent_id: uuid.UUID | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    fax: Annotated[str, StringConstraints(max_length=40)] | None = None
    website: Annotated[str, StringConstraints(max_length=255)] | None = None
    annual_revenue: Money | None = None
    number_of_employees: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    ownership: Annotated[str, StringConstraints(max_length=40)] | None = None
    ticker_symbol: Annotated[str, StringConstraints(max_length=20)] | None = None
    sic: Annotated[str, StringConstraints(max_length=20)] | None = None
    billing_street: Annotated[str, StringConstraints(max_length=255)] | None = None
    billing_city: Short | None = None
    billing_state: Short | None = None
    billing_postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    billing_country: Short | None = None
    shipping_street: Annotated[str, StringConstraints(max_length=255)] | None = None
    shipping_city: Short | None = None
    shipping_state: Short | None = None
    shipping_postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    shipping_country: Short | None = None
    description: Annotated[str, StringConstraints(max_length=32000)] | None = None
    external_id: Annotated[str, StringConstraints(max_length=255)] | None = None


class AccountCreate(_AccountFields):
    model_config = ConfigDict(extra="forbid")

    name: Name
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    currency_code: Currency = "USD"


class AccountUpdate(_AccountFields):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    owner_id: uuid.UUID | None = None
    currency_code: Currency | None = None


class Account(_AccountFields):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    owner_id: uuid.UUID
    currency_code: str
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None
    updated_by: uuid.UUID | None
    # Partner program fields: read-only here, managed through /api/v1/partners.
    is_partner: bool = False
    partner_program: str | None = None
    partner_tier: PartnerTier | None = None
    partner_status: PartnerStatus | None = None
    channel_manager_id: uuid.UUID | None = None
    partner_onboarded_on: date | None = None
    custom_fields: CustomFieldValues = custom_fields_out()
