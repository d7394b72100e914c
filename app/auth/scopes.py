"""The scope catalogue. Every scope an operation can require is declared here, so the OAuth
server metadata and the OpenAPI security scheme list them all.

Scopes gate *operations*; which *records* a principal may touch is decided by ``app.access``.
"""

from app.models.users import User, UserKind

_CRUD_RESOURCES = {
    "users": "users and roles",
    "accounts": "accounts",
    "contacts": "contacts",
    "leads": "leads",
    "opportunities": "opportunities and their line items",
    "products": "products, price books and price book entries",
    "campaigns": "campaigns and campaign members",
    "activities": "tasks, events and notes",
    "cases": "cases and case comments",
    "solutions": "solutions (knowledge articles)",
    "ideas": "ideas, votes on them and their comments",
    "partners": "partner accounts, programs and partner users",
    "deals": "deal registrations",
    "mdf": "MDF budgets, fund requests and claims",
    "reports": "reports and dashboards",
    "email_templates": "email templates",
}

SCOPES: dict[str, str] = {}
for _name, _what in _CRUD_RESOURCES.items():
    SCOPES[f"{_name}:read"] = f"Read {_what}"
    SCOPES[f"{_name}:write"] = f"Create, change and delete {_what}"
SCOPES.update(
    {
        "leads:convert": "Convert leads into accounts, contacts and opportunities",
        "leads:distribute": "Offer leads to partners",
        "deals:register": "Register deals as a partner",
        "deals:approve": "Approve or reject deal registrations",
        "cases:route": "Route and escalate cases",
        "cases:inbound": "Deliver inbound email into cases (the mail gateway)",
        "sync": "Org-to-org synchronisation",
        "emails:read": "Read sent emails, mass emails and their tracking",
        "emails:send": "Send emails from records and mass emails",
        "notifications:read": "Read the caller's own notifications",
        "notifications:write": "Mark the caller's own notifications read",
        "webhooks:read": "Read webhook subscriptions and their delivery logs",
        "webhooks:write": "Create, change and delete webhooks; redeliver",
        "admin": "Administer users, roles, API clients and settings",
    }
)

# What each kind of user may be granted at most. A token's scopes are what was asked for,
# narrowed by the client's allowed scopes and by this.
PARTNER_SCOPES = frozenset(
    {
        "accounts:read",
        "contacts:read",
        "contacts:write",
        "leads:read",
        "leads:write",
        "leads:convert",
        "opportunities:read",
        "opportunities:write",
        "products:read",
        "activities:read",
        "activities:write",
        "cases:read",
        "cases:write",
        "solutions:read",
        "ideas:read",
        "ideas:write",
        "deals:read",
        "deals:write",
        "deals:register",
        "mdf:read",
        "mdf:write",
        "reports:read",
        "partners:read",
        "notifications:read",
        "notifications:write",
    }
)
PORTAL_SCOPES = frozenset(
    {
        "cases:read",
        "cases:write",
        "solutions:read",
        "ideas:read",
        "ideas:write",
        "contacts:read",
        # My profile (app/portal): the customer's own contact, through PATCH /portal/me only.
        "contacts:write",
        "notifications:read",
        "notifications:write",
    }
)

# Workflow scopes that carry the record scopes their workflow needs: registering deals means
# creating, seeing and changing one's registrations; approving them means seeing them. Applied
# when a token is resolved (app/auth/principal.py), after the ceilings.
IMPLIED: dict[str, frozenset[str]] = {
    "deals:register": frozenset({"deals:read", "deals:write"}),
    "deals:approve": frozenset({"deals:read"}),
}


def with_implied(granted: set[str]) -> set[str]:
    return granted.union(*(IMPLIED[s] for s in granted if s in IMPLIED))


def user_ceiling(user: User) -> frozenset[str]:
    if user.kind == UserKind.partner:
        return PARTNER_SCOPES
    if user.kind == UserKind.portal:
        return PORTAL_SCOPES
    if user.is_admin:
        return frozenset(SCOPES)
    # Webhook payloads are not filtered by record access: only administrators (and clients an
    # administrator registered with the scope) may subscribe.
    return frozenset(SCOPES) - {"admin", "webhooks:read", "webhooks:write"}


def parse(scope: str | None) -> list[str]:
    return sorted(set((scope or "").split()))


def unknown(scopes: list[str]) -> list[str]:
    return [s for s in scopes if s not in SCOPES]
