import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from app.cases.schemas import Case

Str255 = Annotated[str, StringConstraints(max_length=255)]


class SuggestedSolution(BaseModel):
    """A published solution that may answer the case (from its subject and description)."""

    id: uuid.UUID
    title: str
    snippet: str = Field(description="HTML-escaped extract; matched words in `<mark>`")


class CaseCreated(Case):
    """The case as created, with the solutions that may answer it."""

    suggested_solutions: list[SuggestedSolution] = Field(default_factory=list)


class InboundAttachment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: Str255 | None = None
    content_type: Str255 = "application/octet-stream"
    content: str = Field(description="The file, base64-encoded")
    inline: bool = False
    content_id: Str255 | None = None


class InboundJson(BaseModel):
    """A message the mail gateway parsed itself."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Annotated[str, StringConstraints(min_length=3, max_length=500)] = Field(
        alias="from", description='The sender: "Name <address>" or an address'
    )
    to: list[Annotated[str, StringConstraints(max_length=500)]] = Field(
        default_factory=list, max_length=100
    )
    subject: Annotated[str, StringConstraints(max_length=2000)] | None = None
    text: Annotated[str, StringConstraints(max_length=1_000_000)] | None = None
    html: Annotated[str, StringConstraints(max_length=2_000_000)] | None = None
    message_id: Annotated[str, StringConstraints(max_length=998)] | None = None
    in_reply_to: Annotated[str, StringConstraints(max_length=10000)] | None = None
    references: Annotated[str, StringConstraints(max_length=20000)] | None = None
    headers: dict[str, Annotated[str, StringConstraints(max_length=1000)]] | None = Field(
        None, description="Other headers (Auto-Submitted, Precedence, X-Autoreply: loop checks)"
    )
    attachments: list[InboundAttachment] = Field(default_factory=list, max_length=100)


class SkippedAttachment(BaseModel):
    filename: str
    size: int
    reason: Literal["too_large", "message_too_large"]


class InboundResult(BaseModel):
    """What became of a message: a new case (`created`, 201), a comment on the case it replies
    to (`threaded`), nothing because it came before (`duplicate`, the case it went to) or
    because a machine sent it (`ignored`)."""

    action: Literal["created", "threaded", "duplicate", "ignored"]
    reason: str | None = Field(
        None, description="Why ignored: auto_submitted, auto_reply, bulk, bounce, own_address"
    )
    case: Case | None = None
    comment_id: uuid.UUID | None = None
    reopened: bool = False
    contact_match: Literal["one", "none", "several"] | None = Field(
        None, description="Contacts with the sender's address: one is linked; several: none is"
    )
    attachments: list["Attachment"] = Field(default_factory=list)
    skipped_attachments: list[SkippedAttachment] = Field(default_factory=list)
    suggested_solutions: list[SuggestedSolution] = Field(default_factory=list)


class Attachment(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    is_inline: bool
    content_id: str | None
    created_by: uuid.UUID | None
    created_at: datetime


InboundResult.model_rebuild()


class AttachmentPage(BaseModel):
    data: list[Attachment]
    next_cursor: str | None = None


# --- web-to-case -----------------------------------------------------------------------------


class FormToken(BaseModel):
    token: str = Field(description="Put in the form's `form_token` field")
    issued_at: datetime
    not_before: datetime = Field(description="Submissions before this are refused (too fast)")
    expires_at: datetime


class WebToCase(BaseModel):
    """The public form. `website` is a honeypot: leave it out (hide the field from people)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    email: EmailStr
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    company: Annotated[str, StringConstraints(max_length=255)] | None = None
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    description: Annotated[str, StringConstraints(max_length=32000)] | None = None
    type: Annotated[str, StringConstraints(max_length=80)] | None = None
    priority: Annotated[str, StringConstraints(max_length=40)] | None = None
    form_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    website: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="Honeypot: must be empty"
    )


class WebToCaseResult(BaseModel):
    received: bool = True
    case_number: str | None = Field(None, description="The customer's reference")
    suggested_solutions: list[SuggestedSolution] = Field(default_factory=list)


# --- solutions used on a case ----------------------------------------------------------------


class CaseSolutionLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    solution_id: uuid.UUID


class CaseSolution(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    solution_id: uuid.UUID
    title: str
    times_used: int
    created_by: uuid.UUID | None
    created_at: datetime


class CaseSolutionPage(BaseModel):
    data: list[CaseSolution]
