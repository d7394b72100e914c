"""Every ORM model, imported here so that ``app.models`` is the complete metadata."""

from app.models.accounts import Account, AccountType, PartnerStatus, PartnerTier
from app.models.activities import Event, Note, Task
from app.models.base import Base
from app.models.campaigns import Campaign, CampaignMember
from app.models.cases import (
    BusinessHours,
    Case,
    CaseAssignmentRule,
    CaseComment,
    CaseEscalationRule,
    Queue,
)
from app.models.custom_fields import CustomField, CustomFieldType
from app.models.deals import DealRegistration, DealRegistrationStatus
from app.models.distribution import DistributionRule, LeadOffer, OfferMode, OfferStatus, OnExpiry
from app.models.email import EmailClick, EmailMessage, EmailTemplate, MassEmail, ServerSecret
from app.models.history import Change, FieldHistory
from app.models.ideas import Idea, IdeaComment, IdeaStatus, IdeaVote
from app.models.idempotency import IdempotencyKey
from app.models.inbound import CaseAttachment, CaseEmail, CaseSolution, WebToCaseCounter
from app.models.jobs import DomainEvent, EventCursor, Job, JobSchedule
from app.models.mdf import (
    FundClaim,
    FundClaimStatus,
    FundRequest,
    FundRequestStatus,
    FundType,
    MdfBudget,
)
from app.models.notifications import Notification
from app.models.oauth import (
    ApiClient,
    AuthorizationCode,
    BrowserSession,
    Grant,
    RefreshToken,
    RevokedAccessToken,
    SigningKey,
)
from app.models.opportunities import (
    ForecastCategory,
    Opportunity,
    OpportunityLineItem,
    OpportunityStageHistory,
)
from app.models.people import Contact, Lead
from app.models.picklists import PicklistValue
from app.models.portal import PortalDomain, PortalRegistration, RateLimitCounter
from app.models.products import PriceBook, PriceBookEntry, Product
from app.models.scorecards import PartnerPlan
from app.models.sharing import Sharing, SharingSetting
from app.models.solutions import Solution, SolutionCategory, SolutionStatus
from app.models.users import PartnerRole, Role, User, UserKind
from app.models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "Account",
    "AccountType",
    "ApiClient",
    "AuthorizationCode",
    "Base",
    "BrowserSession",
    "BusinessHours",
    "Campaign",
    "CampaignMember",
    "Case",
    "CaseAssignmentRule",
    "CaseAttachment",
    "CaseComment",
    "CaseEmail",
    "CaseEscalationRule",
    "CaseSolution",
    "Change",
    "Contact",
    "CustomField",
    "CustomFieldType",
    "DealRegistration",
    "DealRegistrationStatus",
    "DistributionRule",
    "DomainEvent",
    "EmailClick",
    "EmailMessage",
    "EmailTemplate",
    "Event",
    "EventCursor",
    "FieldHistory",
    "ForecastCategory",
    "FundClaim",
    "FundClaimStatus",
    "FundRequest",
    "FundRequestStatus",
    "FundType",
    "Grant",
    "Idea",
    "IdeaComment",
    "IdeaStatus",
    "IdeaVote",
    "IdempotencyKey",
    "Job",
    "JobSchedule",
    "Lead",
    "LeadOffer",
    "MassEmail",
    "MdfBudget",
    "Note",
    "Notification",
    "OfferMode",
    "OfferStatus",
    "OnExpiry",
    "Opportunity",
    "OpportunityLineItem",
    "OpportunityStageHistory",
    "PartnerPlan",
    "PartnerRole",
    "PartnerStatus",
    "PartnerTier",
    "PicklistValue",
    "PortalDomain",
    "PortalRegistration",
    "PriceBook",
    "PriceBookEntry",
    "Product",
    "Queue",
    "RateLimitCounter",
    "RefreshToken",
    "RevokedAccessToken",
    "Role",
    "ServerSecret",
    "Sharing",
    "SharingSetting",
    "SigningKey",
    "Solution",
    "SolutionCategory",
    "SolutionStatus",
    "Task",
    "User",
    "UserKind",
    "WebToCaseCounter",
    "WebhookDelivery",
    "WebhookSubscription",
]
