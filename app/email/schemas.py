import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from app.contacts.schemas import RecordOut

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Body = Annotated[str, StringConstraints(max_length=500_000)]
MergeObject = Literal["lead", "contact", "account", "opportunity"]

TEMPLATE_HELP = (
    "A Jinja2 template, rendered in a sandbox with the merge fields `lead`, `contact`, "
    "`account`, `opportunity` (each the record's API fields, e.g. `{{ contact.first_name }}`, "
    "`{{ account.name }}`, `{{ lead.custom_fields.region }}`; people also have `name`) and "
    "`user` (the sender: `name`, `email`). Empty fields merge as empty text; an unknown field "
    "is an error."
)


# --- templates -------------------------------------------------------------------------------


class _TemplateFields(BaseModel):
    html_body: Body | None = Field(None, description=TEMPLATE_HELP + " HTML is autoescaped.")
    text_body: Body | None = Field(None, description="The plain-text part; same merge fields")
    object_type: MergeObject | None = Field(None, description="The record it is written for")
    folder: Annotated[str, StringConstraints(max_length=80)] | None = None
    description: Annotated[str, StringConstraints(max_length=32000)] | None = None
    is_active: bool | None = None


class EmailTemplateCreate(_TemplateFields):
    """A template needs a subject and at least one of `html_body` and `text_body`. It is
    rendered once against sample data when saved: errors are a 422 naming the part."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    subject: Subject = Field(description="A template too; one line")
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")
    is_active: bool = True


class EmailTemplateUpdate(_TemplateFields):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    subject: Subject | None = None
    owner_id: uuid.UUID | None = None


class EmailTemplate(RecordOut, _TemplateFields):
    name: str
    subject: str
    is_active: bool


class TemplatePreview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    related_type: MergeObject | None = Field(None, description="Merge from this record")
    related_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _together(self):
        if (self.related_type is None) != (self.related_id is None):
            raise ValueError("related_type and related_id go together")
        return self


class RenderedEmail(BaseModel):
    subject: str
    html_body: str | None
    text_body: str | None


# --- sending ---------------------------------------------------------------------------------


class _Compose(BaseModel):
    template_id: uuid.UUID | None = Field(None, description="Send this template")
    subject: Subject | None = Field(None, description="Without a template: the subject")
    html_body: Body | None = Field(None, description="Without a template. " + TEMPLATE_HELP)
    text_body: Body | None = Field(None, description="Without a template: the text part")
    track: bool = Field(True, description="Track opens (a pixel) and clicks (rewritten links)")

    @model_validator(mode="after")
    def _template_or_content(self):
        if self.template_id is not None:
            if self.subject or self.html_body or self.text_body:
                raise ValueError("Give either template_id or subject and body, not both")
        elif not self.subject or not (self.html_body or self.text_body):
            raise ValueError("Give template_id, or subject and html_body or text_body")
        return self


class EmailSendFromRecord(_Compose):
    """Send one email about the record in the path, to its email address unless `to` says
    otherwise. Refused (422 `opted_out`) when the person has opted out of email."""

    model_config = ConfigDict(extra="forbid")

    to: EmailStr | None = Field(None, description="Defaults to the record's email")


class EmailSend(EmailSendFromRecord):
    """`related_type` and `related_id` name the record it is about and merges from (the caller
    must be able to read it); without them `to` is required and nothing is logged."""

    related_type: MergeObject | None = None
    related_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _related(self):
        if (self.related_type is None) != (self.related_id is None):
            raise ValueError("related_type and related_id go together")
        if self.related_type is None and self.to is None:
            raise ValueError("Without a related record, give `to`")
        return self


class EmailClickOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    url: str
    count: int
    first_clicked_at: datetime
    last_clicked_at: datetime


class Tracking(BaseModel):
    first_opened_at: datetime | None
    last_opened_at: datetime | None
    open_count: int
    first_clicked_at: datetime | None
    click_count: int
    clicks: list[EmailClickOut] = Field(description="Per link, most clicked first")


class Email(BaseModel):
    """One email to one recipient. `status`: queued (waiting for the mail server, retried while
    it is unreachable), sent (accepted by it) or failed (refused, or could not be rendered)."""

    id: uuid.UUID
    status: Literal["queued", "sent", "failed"]
    mass_email_id: uuid.UUID | None
    template_id: uuid.UUID | None
    related_type: str | None
    related_id: uuid.UUID | None
    task_id: uuid.UUID | None = Field(description="The completed task logging it, once sent")
    sent_by: uuid.UUID | None
    from_address: str
    reply_to: str | None
    to_address: str
    to_name: str | None
    subject: str
    html_body: str | None
    text_body: str | None
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    error: str | None
    track: bool
    tracking: Tracking


# --- mass email ------------------------------------------------------------------------------

ListObject = Literal["leads", "contacts"]


class MassEmailCreate(_Compose):
    """To every member of `campaign_id` (leads and contacts), or to the `object_type` records
    that `filters` select (`{"status": "Open - Not Contacted", "annual_revenue[gte]": "1000"}`:
    the list endpoint's `?field[op]=value` filters) and `q`. Only records the caller can read.
    Recipients who opted out of email or have no address are skipped and counted; more than the
    per-send limit (1,000 by default) is a 422 `too_many_recipients`."""

    model_config = ConfigDict(extra="forbid")

    campaign_id: uuid.UUID | None = None
    object_type: ListObject | None = None
    filters: dict[str, Annotated[str, StringConstraints(max_length=2000)]] = Field(
        default_factory=dict, max_length=50
    )
    q: Annotated[str, StringConstraints(max_length=200)] | None = None

    @model_validator(mode="after")
    def _one_source(self):
        if (self.campaign_id is None) == (self.object_type is None):
            raise ValueError("Give exactly one of campaign_id and object_type")
        if self.campaign_id is not None and (self.filters or self.q):
            raise ValueError("filters and q apply to object_type, not to a campaign")
        bad = [k for k in self.filters if k in ("limit", "cursor", "sort", "q")]
        if bad:
            raise ValueError(f"Not a filter: {', '.join(bad)}")
        return self


class LinkSummary(BaseModel):
    url: str
    clicks: int
    recipients: int = Field(description="Recipients who clicked it")


class MassEmailSummary(BaseModel):
    queued: int
    sent: int
    failed: int
    opened: int = Field(description="Recipients who opened it at least once")
    opens: int
    clicked: int = Field(description="Recipients who clicked at least one link")
    clicks: int
    links: list[LinkSummary] = Field(description="The 50 most clicked links")


class MassEmail(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    created_by: uuid.UUID | None
    template_id: uuid.UUID | None
    subject: str
    campaign_id: uuid.UUID | None
    object_type: str | None
    filters: dict[str, str] | None
    track: bool
    recipients: int = Field(description="Emails queued (one per recipient)")
    skipped_opted_out: int
    skipped_no_email: int
    summary: MassEmailSummary | None = Field(None, description="Delivery and tracking so far")
