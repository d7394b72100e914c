"""Two partner accounts A and B (each with a manager and a rep) and the vendor's channel
manager, for the MDF and scorecard tests."""

import uuid
from dataclasses import dataclass

from app.models import User
from tests.factories import make_user, user_token

VENDOR = (
    "accounts:read accounts:write leads:read leads:write opportunities:read opportunities:write "
    "partners:read partners:write mdf:read mdf:write campaigns:read campaigns:write"
)
PARTNER = "mdf:read mdf:write partners:read leads:read opportunities:read"
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


async def post(client, h, path, body=None, status=201):
    r = await client.post(f"/api/v1/{path}", json=body, headers=h)
    assert r.status_code == status, r.text
    return r.json()


async def make_partner(client, session, ch, name, scopes=PARTNER) -> Partner:
    account = await post(client, ch, "accounts", {"name": name})
    await post(
        client,
        ch,
        f"partners/{account['id']}/enable",
        {"partner_program": "Resellers", "partner_tier": "gold"},
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
    mh = await user_token(client, session, manager, scopes)
    rh = await user_token(client, session, rep, scopes)
    return Partner(account["id"], manager, rep, mh, rh)


async def make_world(client, session) -> World:
    cm = await make_user(session, name="Channel Manager")
    ch = await user_token(client, session, cm, VENDOR)
    a = await make_partner(client, session, ch, "Alpha")
    b = await make_partner(client, session, ch, "Bravo")
    return World(cm, ch, a, b)
