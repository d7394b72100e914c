import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.models.opportunities import ForecastCategory

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Probability = Annotated[int, Field(ge=0, le=100)]
SortOrder = Annotated[int, Field(ge=0, le=1_000_000)]


class PicklistValue(BaseModel):
    """One allowed value. Attributes a field does not use are null."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    object: str = Field(description="The object owning the value set")
    field: str = Field(description="The field owning the value set")
    value: str = Field(description="What records store and the API reads and writes")
    label: str
    sort_order: int
    is_active: bool = Field(description="Inactive values stay on records but are refused on writes")
    is_default: bool = Field(description="What a new record gets when the field is left out")
    probability: int | None = Field(None, description="Opportunity stages: default probability")
    forecast_category: ForecastCategory | None = Field(
        None, description="Opportunity stages: default forecast category"
    )
    is_closed: bool | None = Field(None, description="Opportunity stages and case statuses: closed")
    is_won: bool | None = Field(None, description="Opportunity stages: closed and won")
    is_converted: bool | None = Field(None, description="Lead statuses: a converted status")
    is_waiting: bool | None = Field(
        None, description="Case statuses: waiting on the customer (escalation clocks stop)"
    )
    created_at: datetime
    updated_at: datetime
    updated_by: uuid.UUID | None


class PicklistField(BaseModel):
    object: str
    field: str
    value_set: str = Field(
        description="`object.field` whose values this field uses; several fields share one"
        " (lead source: leads, contacts, opportunities)"
    )
    used_by: list[str] = Field(description="Every `object.field` using the same values")
    attributes: list[str] = Field(description="The per-value attributes this field uses")
    values: list[PicklistValue] = Field(description="In sort order")


class PicklistFields(BaseModel):
    data: list[PicklistField]


class _Attributes(BaseModel):
    probability: Probability | None = None
    forecast_category: ForecastCategory | None = None
    is_closed: bool | None = None
    is_won: bool | None = Field(None, description="Only with is_closed")
    is_converted: bool | None = None
    is_waiting: bool | None = None


class PicklistValueCreate(_Attributes):
    """Opportunity stages need `probability` and `forecast_category`."""

    model_config = ConfigDict(extra="forbid")

    value: Text = Field(description="Cannot be changed later; records store it")
    label: Text | None = Field(None, description="Defaults to the value")
    sort_order: SortOrder | None = Field(None, description="Defaults to after the last value")
    is_active: bool = True
    is_default: bool = Field(False, description="Makes it the one default, replacing the old one")


class PicklistValueUpdate(_Attributes):
    model_config = ConfigDict(extra="forbid")

    label: Text | None = None
    sort_order: SortOrder | None = None
    is_active: bool | None = Field(
        None, description="false deactivates: records keep the value, new writes cannot set it"
    )
    is_default: bool | None = Field(
        None, description="true makes it the one default, replacing the old one"
    )
