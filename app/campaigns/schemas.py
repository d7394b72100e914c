import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.accounts.schemas import Money
from app.contacts.schemas import RecordOut

CampaignName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Picklist = Annotated[str, StringConstraints(max_length=40)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


class _CampaignFields(BaseModel):
    type: Picklist | None = None
    status: Picklist | None = None
    start_date: date | None = None
    end_date: date | None = None
    budgeted_cost: Money | None = None
    actual_cost: Money | None = None
    expected_revenue: Money | None = None
    expected_response: Percent | None = Field(None, description="Percent")
    number_sent: Annotated[int, Field(ge=0, le=2_000_000_000)] | None = None
    parent_id: uuid.UUID | None = None
    is_active: bool | None = None
    description: Annotated[str, StringConstraints(max_length=32000)] | None = None


class CampaignCreate(_CampaignFields):
    model_config = ConfigDict(extra="forbid")

    name: CampaignName
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    is_active: bool = True


class CampaignUpdate(_CampaignFields):
    model_config = ConfigDict(extra="forbid")

    name: CampaignName | None = None
    owner_id: uuid.UUID | None = None


class Campaign(RecordOut, _CampaignFields):
    name: str
    is_active: bool


class MemberCreate(BaseModel):
    """Exactly one of ``lead_id`` and ``contact_id``. The owner is the campaign's owner."""

    model_config = ConfigDict(extra="forbid")

    campaign_id: uuid.UUID
    lead_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    status: Picklist = Field("Sent", description="'Responded' marks the member as responded")


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Picklist | None = None


class Member(RecordOut):
    campaign_id: uuid.UUID
    lead_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    status: str
    has_responded: bool
    first_responded_date: date | None
