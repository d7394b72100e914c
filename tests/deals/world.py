"""The vendor's channel manager and two competing partner accounts A and B, each with a
partner manager and a partner rep, for the deal registration tests."""

import uuid
from dataclasses import dataclass

from app.models import User
from tests.factories import make_user, user_token

VENDOR = (
    "accounts:read accounts:write opportunities:read opportunities:write partners:read "
    "partners:write products:read products:write deals:read deals:write deals:approve "
    "notifications:read"
)
PARTNER = (
    "deals:read deals:write deals:register opportunities:read opportunities:write "
    "products:read notifications:read"
)
PASSWORD = "correct horse battery"
URL = "/api/v1/deal-registrations"


@dataclass
class Partner:
    id: str
    manager: User
    rep: User
    mh: dict
    rh: dict


@dataclass
class World:
    cm: User
    ch: dict
    a: Partner
    b: Partner


async def post(client, h, path, body=None, status=201):
    r = await client.post(f"/api/v1/{path}", json=body, headers=h)
    assert r.status_code == status, r.text
    return r.json()


async def make_partner(client, session, ch, name, tier="gold") -> Partner:
    account = await post(client, ch, "accounts", {"name": name})
    await post(
        client,
        ch,
        f"partners/{account['id']}/enable",
        {"partner_program": "Resellers", "partner_tier": tier},
        200,
    )
    users = []
    for role in ("partner_manager", "partner_rep"):
        body = {
            "email": f"{role}-{uuid.uuid4().hex[:6]}@{name.lower()}.example.com",
            "name": f"{name} {role}",
            "password": PASSWORD,
            "partner_role": role,
        }
        users.append(await post(client, ch, f"partners/{account['id']}/users", body))
    manager, rep = [await session.get(User, uuid.UUID(u["id"])) for u in users]
    mh = await user_token(client, session, manager, PARTNER)
    rh = await user_token(client, session, rep, PARTNER)
    return Partner(account["id"], manager, rep, mh, rh)


async def make_world(client, session) -> World:
    cm = await make_user(session, name="Channel Manager")
    ch = await user_token(client, session, cm, VENDOR)
    a = await make_partner(client, session, ch, "Alpha")
    b = await make_partner(client, session, ch, "Bravo")
    return World(cm, ch, a, b)


def deal(company: str = "Acme Corp.", **kw) -> dict:
    return {
        "customer_company": company,
        "contact_first_name": "Wile",
        "contact_last_name": "Coyote",
        "contact_email": "wile@acme-widgets.example.com",
        "product_interest": "Rocket skates",
        "estimated_amount": "120000.00",
        "expected_close_date": "2027-06-30",
        "requested_time_frame_days": 60,
        "notes": "CFO signed off the budget",
        **kw,
    }


async def register(client, h, body=None) -> dict:
    """Register a deal (submitted as it is created)."""
    reg = await post(client, h, "deal-registrations", body or deal())
    assert reg["status"] == "submitted", reg
    return reg
