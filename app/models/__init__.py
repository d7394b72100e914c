"""Every ORM model, imported here so that ``app.models`` is the complete metadata."""

from app.models.accounts import Account, AccountType
from app.models.activities import Event, Note, Task
from app.models.base import Base
from app.models.campaigns import Campaign, CampaignMember
from app.models.custom_fields import CustomField, CustomFieldType
from app.models.history import Change, FieldHistory
from app.models.idempotency import IdempotencyKey
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
    "Event",
    "FieldHistory",
    "ForecastCategory",
    "Grant",
    "IdempotencyKey",
    "Lead",
    "Note",
    "Opportunity",
    "OpportunityLineItem",
    "OpportunityStageHistory",
    "PartnerRole",
    "PicklistValue",
    "PriceBook",
    "PriceBookEntry",
    "Product",
    "RefreshToken",
    "RevokedAccessToken",
    "Role",
    "Sharing",
    "SharingSetting",
    "SigningKey",
    "Task",
    "User",
    "UserKind",
]
