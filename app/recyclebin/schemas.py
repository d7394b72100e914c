"""Shapes of the recycle bin API."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class RecycleBinEntry(BaseModel):
    object: str = Field(description="The object's type, as in the change feed: `accounts`")
    id: uuid.UUID
    name: str | None = Field(description="The record's name, subject or title")
    deleted_at: datetime
    deleted_by: uuid.UUID | None


class PurgeResult(BaseModel):
    purged: dict[str, int] = Field(description="Records purged, per object type")
    total: int
