import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2000, description="Where deliveries are POSTed (https:// or http://)"
    )
    event_types: list[str] = Field(
        min_length=1,
        max_length=100,
        description="Event types to receive: `lead.created`, `opportunity.*`, `lead.converted`, "
        "or `*` for all (see GET /api/v1/webhooks/event-types)",
    )
    description: str | None = Field(default=None, max_length=500)


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    active: bool | None = Field(
        default=None, description="false pauses deliveries; true re-enables a disabled webhook"
    )


class Webhook(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    owner_id: uuid.UUID | None
    last_success_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(Webhook):
    secret: str = Field(
        description="The signing secret (`whsec_...`, Standard Webhooks). Shown only now."
    )


class WebhookDelivery(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    message_id: str = Field(description="The `webhook-id` header: the same on every retry")
    event_type: str
    object_type: str
    record_id: uuid.UUID
    payload: dict[str, Any]
    status: str = Field(description="pending, succeeded or failed (gave up)")
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    redelivery_of: uuid.UUID | None
    created_at: datetime


class EventType(BaseModel):
    event_type: str
    description: str
