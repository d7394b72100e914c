"""Every ORM model, imported here so that ``app.models`` is the complete metadata."""

from app.models.accounts import Account, AccountType, PartnerStatus, PartnerTier
from app.models.activities import Event, Note, Task
from app.models.base import Base
from app.models.campaigns import Campaign, CampaignMember
from app.models.custom_fields import CustomField, CustomFieldType
from app.models.email import EmailClick, EmailMessage, EmailTemplate, MassEmail, ServerSecret
from app.models.history import Change, FieldHistory
from app.models.idempotency import IdempotencyKey
from app.models.jobs import DomainEvent, EventCursor, Job, JobSchedule
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
from app.models.products import PriceBook, PriceBookEntry, Product
from app.models.sharing import Sharing, SharingSetting
from app.models.users import PartnerRole, Role, User, UserKind
from app.models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "Account",
    "AccountType",
    "ApiClient",
    "AuthorizationCode",
    "Base",
    "BrowserSession",
    "Campaign",
    "CampaignMember",
    "Change",
    "Contact",
    "CustomField",
    "CustomFieldType",
    "DomainEvent",
    "EmailClick",
    "EmailMessage",
    "EmailTemplate",
    "Event",
    "EventCursor",
    "FieldHistory",
    "ForecastCategory",
    "Grant",
    "IdempotencyKey",
    "Job",
    "JobSchedule",
    "Lead",
    "MassEmail",
    "Note",
    "Notification",
    "Opportunity",
    "OpportunityLineItem",
    "OpportunityStageHistory",
    "PartnerRole",
    "PartnerStatus",
    "PartnerTier",
    "PicklistValue",
    "PriceBook",
    "PriceBookEntry",
    "Product",
    "RefreshToken",
    "RevokedAccessToken",
    "Role",
    "ServerSecret",
    "Sharing",
    "SharingSetting",
    "SigningKey",
    "Task",
    "User",
    "UserKind",
    "WebhookDelivery",
    "WebhookSubscription",
]
