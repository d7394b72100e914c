import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.accounts.schemas import Currency, Money, Name
from app.contacts.schemas import RecordOut
from app.models.opportunities import ForecastCategory

StageName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Percent = Annotated[int, Field(ge=0, le=100)]


class _OpportunityFields(BaseModel):
    account_id: uuid.UUID | None = None
    amount: Money | None = None
    probability: Percent | None = Field(None, description="Defaults from the stage")
    forecast_category: ForecastCategory | None = Field(None, description="Defaults from the stage")
    type: Annotated[str, StringConstraints(max_length=40)] | None = None
    lead_source: Annotated[str, StringConstraints(max_length=80)] | None = None
    next_step: Annotated[str, StringConstraints(max_length=255)] | None = None
    description: Annotated[str, StringConstraints(max_length=32000)] | None = None
    primary_campaign_id: uuid.UUID | None = None
    partner_account_id: uuid.UUID | None = None
    external_id: Annotated[str, StringConstraints(max_length=255)] | None = None


class OpportunityCreate(_OpportunityFields):
    model_config = ConfigDict(extra="forbid")

    name: Name
    close_date: date
    stage: StageName | None = Field(
        None,
        description="An active value of the stage picklist; defaults to its default value"
        " ('Prospecting' unless an administrator changed it)",
    )
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    currency_code: Currency = "USD"


class OpportunityUpdate(_OpportunityFields):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    close_date: date | None = None
    stage: StageName | None = Field(
        None, description="Changing it resets probability and forecast category unless given"
    )
    owner_id: uuid.UUID | None = None
    currency_code: Currency | None = None


class Opportunity(RecordOut, _OpportunityFields):
    name: str
    close_date: date
    stage: str
    currency_code: str
    is_closed: bool
    is_won: bool


class StageHistoryEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    opportunity_id: uuid.UUID
    stage: str
    amount: Decimal | None
    probability: int | None
    forecast_category: ForecastCategory | None
    close_date: date | None
    changed_by: uuid.UUID | None
    changed_at: datetime


Quantity = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
Discount = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
Description = Annotated[str, StringConstraints(max_length=255)]


class LineItemCreate(BaseModel):
    """The product comes from the price book entry; the owner is the opportunity's owner."""

    model_config = ConfigDict(extra="forbid")

    opportunity_id: uuid.UUID
    price_book_entry_id: uuid.UUID
    quantity: Quantity
    unit_price: Money | None = Field(None, description="Defaults to the entry's price")
    discount: Discount | None = Field(None, description="Percent")
    description: Description | None = None


class LineItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: Quantity | None = None
    unit_price: Money | None = None
    discount: Discount | None = None
    description: Description | None = None


class LineItem(RecordOut):
    opportunity_id: uuid.UUID
    price_book_entry_id: uuid.UUID
    product_id: uuid.UUID
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal | None
    total_price: Decimal
    description: str | None
