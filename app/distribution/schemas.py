import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    StringConstraints,
    model_validator,
)

from app.leads.schemas import Lead
from app.models.accounts import PartnerTier
from app.models.distribution import OfferMode, OfferStatus, OnExpiry

DEFAULT_TIME_LIMIT = 48 * 3600
MAX_TIME_LIMIT = 90 * 24 * 3600
TimeLimit = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_TIME_LIMIT,
        description="Seconds the partner has to accept or decline (default 48 hours)",
    ),
]
MaxExtensions = Annotated[
    int,
    Field(ge=0, le=10, description="With on_expiry=extend: how many times the limit is renewed"),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Value = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
LongValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]

ON_EXPIRY_DOC = (
    "What happens when the time limit passes without an answer (claw-back): `redistribute` "
    "(default) offers the lead to the next partner by the distribution rules, leaving out every "
    "partner that already had it; `extend` renews the same offer's time limit, up to "
    "`max_extensions` times, then it expires; `none` returns the lead to the vendor. The vendor "
    "who offered it is notified in each case."
)


class LeadOfferCreate(BaseModel):
    """Exactly one of `partner_user_id` (a partner rep), `partner_account_id` (a partner) or
    `partner_account_ids` (several partners: a shark tank, the first to accept wins)."""

    model_config = ConfigDict(extra="forbid")

    partner_user_id: uuid.UUID | None = None
    partner_account_id: uuid.UUID | None = None
    partner_account_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=50)] | None = (
        None
    )
    time_limit_seconds: TimeLimit = DEFAULT_TIME_LIMIT
    on_expiry: OnExpiry = Field(OnExpiry.redistribute, description=ON_EXPIRY_DOC)
    max_extensions: MaxExtensions = 1
    message: Text | None = Field(None, description="A note to the partner, shown in its inbox")

    @model_validator(mode="after")
    def _one_target(self):
        given = [
            x
            for x in (self.partner_user_id, self.partner_account_id, self.partner_account_ids)
            if x is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "Give exactly one of partner_user_id, partner_account_id, partner_account_ids"
            )
        if self.partner_account_ids is not None and len(set(self.partner_account_ids)) != len(
            self.partner_account_ids
        ):
            raise ValueError("partner_account_ids has duplicates")
        return self


class LeadFeedback(BaseModel):
    """Where the lead stands now: the partner's work on it, visible to the vendor."""

    status: str
    is_converted: bool
    converted_at: datetime | None
    converted_opportunity_id: uuid.UUID | None
    owner_id: uuid.UUID
    partner_account_id: uuid.UUID | None


class LeadOffer(BaseModel):
    """An offer of a lead to a partner, as the vendor sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lead_id: uuid.UUID
    partner_account_id: uuid.UUID
    partner_user_id: uuid.UUID | None
    distribution_id: uuid.UUID = Field(description="Shared by the offers made together")
    rule_id: uuid.UUID | None
    mode: OfferMode
    status: OfferStatus
    on_expiry: OnExpiry
    time_limit_seconds: int
    extensions: int
    max_extensions: int
    message: str | None
    offered_by: uuid.UUID | None
    offered_at: datetime
    expires_at: datetime
    responded_at: datetime | None
    responded_by: uuid.UUID | None
    decline_reason: str | None
    created_at: datetime
    updated_at: datetime
    lead: LeadFeedback | None = Field(None, description="Status feedback from the lead")


class LeadOfferBatch(BaseModel):
    distribution_id: uuid.UUID
    mode: OfferMode
    offers: list[LeadOffer]


class LeadSummary(BaseModel):
    """The part of a lead a partner sees before it accepts: company, industry, city, state,
    country, lead source, rating, status and product interest. Held back until acceptance: the
    person (name, salutation, title), how to reach them (email, phone, mobile, street, postal
    code, website), the vendor's fields (score, owner, description) and everything else."""

    company: str
    industry: str | None
    city: str | None
    state: str | None
    country: str | None
    lead_source: str | None
    rating: str | None
    status: str
    product_interest: str | None


class InboxOffer(BaseModel):
    """An offer in a partner's lead inbox."""

    id: uuid.UUID
    lead_id: uuid.UUID
    partner_account_id: uuid.UUID
    partner_user_id: uuid.UUID | None
    mode: OfferMode
    status: OfferStatus
    message: str | None
    offered_at: datetime
    expires_at: datetime
    responded_at: datetime | None
    decline_reason: str | None
    lead: LeadSummary


class LeadOfferAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_id: uuid.UUID | None = Field(
        None,
        description="Who of the partner works the lead: defaults to the caller (for a partner"
        " system, to the rep the offer was addressed to). A partner manager may name another"
        " active user of the partner.",
    )


class LeadOfferAccepted(BaseModel):
    offer: InboxOffer
    # SerializeAsAny: the resource's Lead subclass carries the custom fields.
    lead: SerializeAsAny[Lead] = Field(description="The full lead, now the partner's")


class LeadOfferDecline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text | None = None


class LeadOfferExtend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: TimeLimit | None = Field(
        None, description="Added to the time limit (default: the offer's own time limit)"
    )


class _RuleFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    is_active: bool | None = None
    sort_order: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    countries: Annotated[list[Value], Field(max_length=200)] | None = Field(
        None, description="The lead's country is one of these (any when empty; case-insensitive)"
    )
    states: Annotated[list[Value], Field(max_length=200)] | None = Field(
        None, description="The lead's state is one of these (any when empty; case-insensitive)"
    )
    product_interests: Annotated[list[LongValue], Field(max_length=200)] | None = Field(
        None, description="The lead's product interest is one of these (any when empty)"
    )
    min_score: Annotated[int, Field(ge=0, le=1000)] | None = Field(
        None, description="The lead's score is at least this"
    )
    partner_tiers: Annotated[list[PartnerTier], Field(max_length=4)] | None = Field(
        None,
        description="Only partners of these tiers; without partner_account_ids, every active"
        " partner of these tiers (by name)",
    )
    partner_account_ids: Annotated[list[uuid.UUID], Field(max_length=100)] | None = Field(
        None, description="The target partners, in order"
    )
    mode: OfferMode | None = Field(
        None,
        description="`direct`: the first target that has not had the lead; `shark_tank`: all"
        " of them at once, the first to accept wins",
    )
    on_expiry: OnExpiry | None = Field(None, description=ON_EXPIRY_DOC)
    time_limit_seconds: TimeLimit | None = None
    max_extensions: MaxExtensions | None = None


class DistributionRuleCreate(_RuleFields):
    name: Name
    is_active: bool = True
    sort_order: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    mode: OfferMode = OfferMode.direct
    on_expiry: OnExpiry = OnExpiry.redistribute
    time_limit_seconds: TimeLimit = DEFAULT_TIME_LIMIT
    max_extensions: MaxExtensions = 1


class DistributionRuleUpdate(_RuleFields):
    name: Name | None = None


class DistributionRule(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    is_active: bool
    sort_order: int
    countries: list[str]
    states: list[str]
    product_interests: list[str]
    min_score: int | None
    partner_tiers: list[str]
    partner_account_ids: list[uuid.UUID]
    mode: OfferMode
    on_expiry: OnExpiry
    time_limit_seconds: int
    max_extensions: int
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
