import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.accounts.schemas import Currency, Money, Name
from app.contacts.schemas import RecordOut
from app.models import PartnerTier

Text = Annotated[str, StringConstraints(max_length=32000)]
Family = Annotated[str, StringConstraints(max_length=40)]
ExternalId = Annotated[str, StringConstraints(max_length=255)]


class _ProductFields(BaseModel):
    product_code: Annotated[str, StringConstraints(max_length=255)] | None = None
    description: Text | None = None
    family: Family | None = None
    is_active: bool | None = None
    quantity_unit_of_measure: Annotated[str, StringConstraints(max_length=40)] | None = None
    external_id: ExternalId | None = None


class ProductCreate(_ProductFields):
    model_config = ConfigDict(extra="forbid")

    name: Name
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    is_active: bool = True


class ProductUpdate(_ProductFields):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    owner_id: uuid.UUID | None = None


class Product(RecordOut, _ProductFields):
    name: str
    is_active: bool


class _PriceBookFields(BaseModel):
    description: Text | None = None
    is_active: bool | None = None
    is_standard: bool | None = Field(None, description="At most one live standard price book")
    partner_tiers: list[PartnerTier] | None = Field(
        None,
        description="Partner tiers whose users may read this price book and its active entries "
        "(to price their opportunities); empty: internal only",
    )


class PriceBookCreate(_PriceBookFields):
    model_config = ConfigDict(extra="forbid")

    name: Name
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    is_active: bool = True
    is_standard: bool = False
    partner_tiers: list[PartnerTier] = Field(
        default_factory=list,
        description="Partner tiers whose users may read this price book and its active entries",
    )


class PriceBookUpdate(_PriceBookFields):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    owner_id: uuid.UUID | None = None


class PriceBook(RecordOut, _PriceBookFields):
    name: str
    is_active: bool
    is_standard: bool
    partner_tiers: list[PartnerTier]


class PriceBookEntryCreate(BaseModel):
    """The price book, product and currency of an entry are fixed once it exists."""

    model_config = ConfigDict(extra="forbid")

    price_book_id: uuid.UUID
    product_id: uuid.UUID
    unit_price: Money
    currency_code: Currency = "USD"
    is_active: bool = True
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")


class PriceBookEntryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_price: Money | None = None
    is_active: bool | None = None
    owner_id: uuid.UUID | None = None


class PriceBookEntry(RecordOut):
    price_book_id: uuid.UUID
    product_id: uuid.UUID
    unit_price: Decimal
    currency_code: str
    is_active: bool
