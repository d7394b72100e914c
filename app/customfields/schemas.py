import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    computed_field,
)
from pydantic.fields import FieldInfo

from app.models.custom_fields import CustomFieldType

# --- values on records ----------------------------------------------------------------------

_Value = Annotated[Any, WithJsonSchema({"type": ["string", "number", "boolean", "null"]})]
CustomFieldValuesIn = dict[str, _Value] | None
CustomFieldValues = dict[str, str | bool | None]


def custom_fields_in() -> FieldInfo:
    return Field(
        None,
        max_length=500,
        description="Values of the object's custom fields (`GET /api/v1/custom-fields?object=`) "
        "by API name. Keys you send are set, a key with null clears the value, keys you leave "
        'out are kept. Numbers and currency as strings ("1200.50") or JSON numbers (strings '
        "keep every digit), dates as YYYY-MM-DD, booleans as true or false.",
    )


def custom_fields_out() -> Any:
    return Field(
        default_factory=dict,
        description="Every custom field of the object by API name, null when unset. Text, "
        "picklist, number and currency values are strings (decimals exact, at the field's "
        "scale), dates YYYY-MM-DD, booleans true or false.",
    )


# --- definitions ----------------------------------------------------------------------------

# A deleted field can be restored, with its values, for as long as Salesforce keeps one.
KEEP_DELETED = timedelta(days=15)

ApiName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Choice = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Choices = Annotated[list[Choice], Field(min_length=1, max_length=1000)]
Description = Annotated[str, StringConstraints(max_length=1000)]


class CustomFieldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object: str = Field(
        description="The object, as named in its URL: `leads`, `accounts`, `price-book-entries`"
    )
    name: ApiName = Field(
        description="API name: the key in records' `custom_fields` and in filters "
        "(`?custom_fields.<name>[op]=`). Lower case, digits and `_`, up to 40 characters. "
        "Cannot be changed."
    )
    label: Label
    type: CustomFieldType = Field(description="Cannot be changed")
    required: bool = Field(False, description="A value is needed to create a record")
    picklist_values: Choices | None = Field(
        None, description="Picklist fields only (and required for them): the allowed values"
    )
    max_length: int | None = Field(
        None, ge=1, le=32000, description="Text fields only: the most characters (default 255)"
    )
    precision: int | None = Field(
        None,
        ge=1,
        le=18,
        description="Number and currency fields only: the most digits in all (default 18)",
    )
    scale: int | None = Field(
        None,
        ge=0,
        le=17,
        description="Number fields only: digits after the decimal point (default 0); currency "
        "always has 2",
    )
    description: Description | None = None


class CustomFieldUpdate(BaseModel):
    """Type, name, object, precision and scale cannot change (a 422 naming the field)."""

    model_config = ConfigDict(extra="forbid")

    label: Label | None = None
    description: Description | None = None
    required: bool | None = None
    is_active: bool | None = Field(
        None, description="An inactive field keeps and shows its values but takes no writes"
    )
    picklist_values: Choices | None = Field(
        None,
        description="The allowed values from now on; records keep values no longer listed",
    )
    max_length: int | None = Field(None, ge=1, le=32000, description="Text fields: may only grow")


class CustomField(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    object: str
    name: str
    label: str
    type: CustomFieldType
    required: bool
    picklist_values: list[str] | None
    max_length: int | None
    precision: int | None
    scale: int | None
    description: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None
    updated_by: uuid.UUID | None
    deleted_at: datetime | None = Field(
        description="Set while the field is deleted: it and its values can be restored until "
        "`erase_after`"
    )

    @computed_field(description="When a deleted field and its values are erased for good")
    @property
    def erase_after(self) -> datetime | None:
        return self.deleted_at + KEEP_DELETED if self.deleted_at else None
