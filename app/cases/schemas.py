import itertools
import uuid
from datetime import date, datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.cases.hours import WEEKDAYS
from app.contacts.schemas import RecordOut

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Short = Annotated[str, StringConstraints(max_length=80)]
Long = Annotated[str, StringConstraints(max_length=32000)]
Values = Annotated[list[Short], Field(min_length=1, max_length=50)]
# Business-time targets: up to a year of seconds.
Seconds = Annotated[int, Field(ge=1, le=366 * 24 * 3600)]


# --- cases -----------------------------------------------------------------------------------


class _CaseFields(BaseModel):
    subject: Annotated[str, StringConstraints(max_length=255)] | None = None
    description: Long | None = None
    status: Short | None = None
    priority: Annotated[str, StringConstraints(max_length=40)] | None = None
    type: Short | None = None
    reason: Short | None = None
    account_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    language: Annotated[str, StringConstraints(max_length=16)] | None = Field(
        None, description="The customer's language (`en`, `de`, ...), for routing"
    )
    supplied_email: EmailStr | None = Field(
        None, description="The customer's address when there is no contact (web, email)"
    )
    supplied_name: Annotated[str, StringConstraints(max_length=120)] | None = None
    supplied_phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    queue_id: uuid.UUID | None = Field(
        None,
        description="Put the case in this queue (its owner becomes the queue's owner until an"
        " agent accepts it). Internal users only",
    )
    partner_account_id: uuid.UUID | None = Field(
        None, description="The partner the case is shared with; set for cases partners submit"
    )


class CaseCreate(_CaseFields):
    model_config = ConfigDict(extra="forbid")

    origin: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="Phone, Email, Web, Chat or Portal (an active case origin)"
    )
    owner_id: uuid.UUID | None = Field(
        None,
        description="Defaults to the caller; the active assignment rule may then give the case"
        " to a queue or an agent",
    )


class CaseUpdate(_CaseFields):
    model_config = ConfigDict(extra="forbid")

    origin: Annotated[str, StringConstraints(max_length=40)] | None = None
    owner_id: uuid.UUID | None = None


class Case(RecordOut, _CaseFields):
    case_number: str
    status: str
    origin: str | None
    is_closed: bool
    closed_at: datetime | None
    first_response_at: datetime | None
    is_escalated: bool
    escalated_at: datetime | None
    escalation_rule_id: uuid.UUID | None
    first_response_due_at: datetime | None = Field(
        description="When the first response is due (escalation), null when none is pending"
    )
    resolution_due_at: datetime | None
    paused_at: datetime | None = Field(description="Since when the case waits on the customer")
    satisfaction_score: int | None = Field(
        None, description="The customer's satisfaction survey answer, 1 (poor) to 5 (excellent)"
    )
    satisfaction_comment: str | None = None
    satisfaction_at: datetime | None = Field(None, description="When the survey was answered")
    satisfaction_sent_at: datetime | None = Field(
        None, description="When the last satisfaction survey was queued"
    )


class CaseClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Short | None = Field(None, description="A closed status; defaults to the first one")
    comment: Annotated[str, StringConstraints(min_length=1, max_length=4000)] | None = Field(
        None, description="Adds a public comment with the resolution"
    )


class CaseReopen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Short | None = Field(None, description="An open status; defaults to the default one")


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    is_public: bool = Field(
        False,
        description="Public comments are visible to the customer and partners; internal ones"
        " only to the vendor's users. Partners may only post public comments",
    )


class Comment(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    body: str
    is_public: bool
    created_by: uuid.UUID | None
    created_at: datetime


# --- queues ----------------------------------------------------------------------------------


class _QueueFields(BaseModel):
    email: EmailStr | None = None
    description: Long | None = None
    member_ids: list[uuid.UUID] | None = Field(
        None, max_length=500, description="Agents (active internal users), in round-robin order"
    )


class QueueCreate(_QueueFields):
    model_config = ConfigDict(extra="forbid")

    name: Name
    owner_id: uuid.UUID | None = Field(
        None, description="The supervisor, who owns waiting cases; defaults to the caller"
    )


class QueueUpdate(_QueueFields):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    owner_id: uuid.UUID | None = None


class Queue(RecordOut, _QueueFields):
    name: str
    member_ids: list[uuid.UUID]
    last_assigned_id: uuid.UUID | None


# --- criteria shared by assignment and escalation rules ---------------------------------------


class Criteria(BaseModel):
    """Every field given must match (a case value in the list); a field left out matches
    anything. No criteria: the entry matches every case (a catch-all)."""

    model_config = ConfigDict(extra="forbid")

    type: Values | None = None
    origin: Values | None = None
    priority: Values | None = None
    reason: Values | None = None
    account_tier: list[Literal["bronze", "silver", "gold", "platinum"]] | None = Field(
        None,
        min_length=1,
        description="The partner tier of the case's account, or of the partner that submitted it",
    )
    product_id: list[uuid.UUID] | None = Field(None, min_length=1, max_length=50)
    language: list[Annotated[str, StringConstraints(max_length=16)]] | None = Field(
        None, min_length=1, max_length=50
    )


# --- assignment rules ------------------------------------------------------------------------


class AssignmentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criteria: Criteria = Field(default_factory=Criteria)
    queue_id: uuid.UUID | None = Field(None, description="Assign to this queue")
    user_id: uuid.UUID | None = Field(None, description="Or to this agent")
    distribution: Literal["queue", "round_robin", "least_open"] = Field(
        "queue",
        description="With a queue: leave the case in the queue for an agent to accept, or give"
        " it at once to the next member in turn (`round_robin`) or to the member with the fewest"
        " open cases (`least_open`)",
    )
    template_id: uuid.UUID | None = Field(
        None, description="Email template of the auto-response sent to the customer"
    )

    @model_validator(mode="after")
    def _one_target(self):
        if (self.queue_id is None) == (self.user_id is None):
            raise ValueError("Give queue_id or user_id")
        if self.user_id is not None and self.distribution != "queue":
            raise ValueError("round_robin and least_open need a queue_id")
        return self


Entries = Annotated[list[AssignmentEntry], Field(max_length=200)]


class AssignmentRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    is_active: bool = Field(False, description="Activating a rule deactivates the others")
    entries: Entries = Field(default_factory=list, description="Evaluated in order; first wins")
    owner_id: uuid.UUID | None = None


class AssignmentRuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    is_active: bool | None = None
    entries: Entries | None = None
    owner_id: uuid.UUID | None = None


class AssignmentRule(RecordOut):
    name: str
    is_active: bool
    entries: list[AssignmentEntry]


# --- business hours --------------------------------------------------------------------------


class Span(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"])
    end: str = Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$", examples=["17:00"])

    @model_validator(mode="after")
    def _ordered(self):
        end = time.max if self.end == "24:00" else time.fromisoformat(self.end)
        if time.fromisoformat(self.start) >= end:
            raise ValueError("start must be before end")
        return self


Day = Annotated[list[Span], Field(max_length=12)]


class WeekHours(BaseModel):
    """Opening hours per weekday (local time in the time zone); a day left out is closed."""

    model_config = ConfigDict(extra="forbid")

    monday: Day | None = None
    tuesday: Day | None = None
    wednesday: Day | None = None
    thursday: Day | None = None
    friday: Day | None = None
    saturday: Day | None = None
    sunday: Day | None = None

    @model_validator(mode="after")
    def _some_hours(self):
        if not any(getattr(self, d) for d in WEEKDAYS):
            raise ValueError("Give opening hours for at least one day")
        for d in WEEKDAYS:
            spans = sorted((s.start, s.end) for s in getattr(self, d) or [])
            for (_, end), (start, _) in itertools.pairwise(spans):
                if start < end:
                    raise ValueError(f"Opening hours overlap on {d}")
        return self


def _zone(value: str | None) -> str | None:
    if value is None:
        return value
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("Unknown time zone (use an IANA name such as Europe/Paris)") from exc
    return value


TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Holidays = Annotated[list[date], Field(max_length=1000)]


class BusinessHoursCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    time_zone: TimeZone = "UTC"
    hours: WeekHours
    holidays: Holidays = Field(default_factory=list, description="Closed all day (local dates)")
    owner_id: uuid.UUID | None = None

    _tz = field_validator("time_zone")(_zone)


class BusinessHoursUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    time_zone: TimeZone | None = None
    hours: WeekHours | None = None
    holidays: Holidays | None = None
    owner_id: uuid.UUID | None = None

    _tz = field_validator("time_zone")(_zone)


class BusinessHours(RecordOut):
    name: str
    time_zone: str
    hours: WeekHours
    holidays: list[date]


class BusinessTime(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime = Field(description="With a UTC offset")
    seconds: Annotated[int, Field(ge=0, le=366 * 24 * 3600)]

    @field_validator("start")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("Give the time with its offset (2026-11-23T09:00:00Z)")
        return v


class BusinessTimeResult(BaseModel):
    due_at: datetime


# --- escalation rules ------------------------------------------------------------------------


class EscalationActions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    raise_priority: bool = Field(True, description="One step up the priority picklist")
    set_priority: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="Or set this priority"
    )
    reassign_user_id: uuid.UUID | None = None
    reassign_queue_id: uuid.UUID | None = None
    notify_owner: bool = True
    notify_manager: bool = Field(True, description="The owner's manager (users.manager_id)")

    @model_validator(mode="after")
    def _one_target(self):
        if self.reassign_user_id is not None and self.reassign_queue_id is not None:
            raise ValueError("Reassign to a user or a queue, not both")
        return self


class EscalationEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criteria: Criteria = Field(default_factory=Criteria)
    business_hours_id: uuid.UUID | None = Field(
        None, description="Count only these business hours; none: every second counts"
    )
    first_response_seconds: Seconds | None = Field(
        None, description="Escalate when no first response within this much business time"
    )
    resolution_seconds: Seconds | None = Field(
        None, description="Escalate when not closed within this much business time"
    )
    actions: EscalationActions = Field(default_factory=EscalationActions)

    @model_validator(mode="after")
    def _a_target(self):
        if self.first_response_seconds is None and self.resolution_seconds is None:
            raise ValueError("Give first_response_seconds, resolution_seconds or both")
        return self


class EscalationRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    is_active: bool = Field(False, description="Activating a rule deactivates the others")
    entries: Annotated[list[EscalationEntry], Field(max_length=200)] = Field(default_factory=list)
    owner_id: uuid.UUID | None = None


class EscalationRuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    is_active: bool | None = None
    entries: Annotated[list[EscalationEntry], Field(max_length=200)] | None = None
    owner_id: uuid.UUID | None = None


class EscalationRule(RecordOut):
    name: str
    is_active: bool
    entries: list[EscalationEntry]
