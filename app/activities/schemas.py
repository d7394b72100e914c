import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from app.contacts.schemas import RecordOut

Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Body = Annotated[str, StringConstraints(max_length=32000)]
TaskStatus = Literal[
    "Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"
]
Priority = Literal["High", "Normal", "Low"]
TaskSubtype = Literal["Task", "Call", "Email"]
WhatType = Literal["account", "opportunity", "campaign", "product"]
WhoType = Literal["lead", "contact"]
ParentType = Literal["account", "contact", "lead", "opportunity", "campaign", "product"]


class _Related(BaseModel):
    what_type: WhatType | None = Field(None, description="The related record's type")
    what_id: uuid.UUID | None = None
    who_type: WhoType | None = Field(None, description="The person: a lead or a contact")
    who_id: uuid.UUID | None = None


class _TaskFields(_Related):
    priority: Priority | None = None
    due_date: date | None = None
    description: Body | None = None


class TaskCreate(_TaskFields):
    model_config = ConfigDict(extra="forbid")

    subject: Subject
    subtype: TaskSubtype = Field("Task", description="'Call' or 'Email' to log one; fixed later")
    status: TaskStatus = "Not Started"
    priority: Priority = "Normal"
    owner_id: uuid.UUID | None = Field(None, description="The assignee; defaults to the caller")


class TaskUpdate(_TaskFields):
    model_config = ConfigDict(extra="forbid")

    subject: Subject | None = None
    status: TaskStatus | None = None
    owner_id: uuid.UUID | None = None


class Task(RecordOut, _TaskFields):
    subject: str
    subtype: str = Field(description="Task, Call, Email, or List Email (logged by a mass email)")
    status: str
    priority: str
    is_closed: bool


class _EventFields(_Related):
    is_all_day: bool | None = None
    location: Annotated[str, StringConstraints(max_length=255)] | None = None
    description: Body | None = None


class EventCreate(_EventFields):
    model_config = ConfigDict(extra="forbid")

    subject: Subject
    start_at: AwareDatetime
    end_at: AwareDatetime = Field(description="Not before start_at")
    is_all_day: bool = False
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")


class EventUpdate(_EventFields):
    model_config = ConfigDict(extra="forbid")

    subject: Subject | None = None
    start_at: AwareDatetime | None = None
    end_at: AwareDatetime | None = None
    owner_id: uuid.UUID | None = None


class Event(RecordOut, _EventFields):
    subject: str
    start_at: datetime
    end_at: datetime
    is_all_day: bool


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Subject
    body: Body | None = None
    parent_type: ParentType
    parent_id: uuid.UUID
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")


class NoteUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Subject | None = None
    body: Body | None = None
    owner_id: uuid.UUID | None = None


class Note(RecordOut):
    title: str
    body: str | None
    parent_type: str
    parent_id: uuid.UUID
