"""Shapes of the sharing settings API (org-wide defaults)."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.models.sharing import Sharing


class SharingSetting(BaseModel):
    object: str = Field(description="The object type, as in the change feed: `leads`")
    internal_access: Sharing = Field(
        description="What internal users may do with records they do not own (and that no one "
        "below them in the role hierarchy owns): `private` nothing, `public_read` read, "
        "`public_read_write` read and change, `controlled_by_parent` (line items, campaign "
        "members) what they may do with the parent record"
    )
    default_access: Sharing = Field(description="The object's default before any change")
    updated_at: datetime | None
    updated_by: uuid.UUID | None


class SharingSettingChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object: str = Field(max_length=60)
    internal_access: Sharing


class SharingSettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settings: list[SharingSettingChange] = Field(min_length=1, max_length=100)


class SharingSettings(BaseModel):
    data: list[SharingSetting]
