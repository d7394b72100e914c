"""The cast: the vendor's channel manager and two competing partners, Alpha and Bravo, each
with a partner manager and a partner rep (their tokens carry every scope a partner may have)."""

import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import PARTNER_SCOPES
from app.models import User
from tests.factories import make_user, user_token

CM_SCOPES = (
    "accounts:read accounts:write contacts:read contacts:write leads:read leads:write "
    "leads:convert leads:distribute opportunities:read opportunities:write partners:read "
    "partners:write notifications:read"
)
# Everything a partner user can hold, and leads:distribute on top (the ceiling drops it).
PARTNER = " ".join(sorted(PARTNER_SCOPES | {"leads:distribute"}))
PASSWORD = "correct horse battery"


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


async def post(client: httpx.AsyncClient, h: dict, path: str, body: dict | None, status=201):
    r = await client.post(f"/api/v1/{path}", json=body, headers=h)
    assert r.status_code == status, r.text
    return r.json()


async def make_partner(client, session: AsyncSession, ch: dict, name: str, tier="gold") -> Partner:
    account = await post(client, ch, "accounts", {"name": name, "billing_country": "US"})
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
            "name": f"{name} {role.title()}",
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
    ch = await user_token(client, session, cm, CM_SCOPES)
    a = await make_partner(client, session, ch, "Alpha")
    b = await make_partner(client, session, ch, "Bravo", tier="silver")
    return World(cm, ch, a, b)


LEAD = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "title": "CTO",
    "company": "Analytical Engines",
    "email": "ada@engines.example.com",
    "phone": "+1 555 0101",
    "street": "1 Difference Way",
    "postal_code": "94105",
    "city": "San Francisco",
    "state": "CA",
    "country": "US",
    "industry": "Technology",
    "lead_source": "Web",
    "rating": "Hot",
    "status": "Working - Contacted",
    "product_interest": "Widgets Pro",
    "score": 80,
}


async def make_lead(client, ch: dict, **extra) -> dict:
    return await post(client, ch, "leads", {**LEAD, **extra})
