"""Who meets the knowledge base in the tests: an author (internal), a colleague in another
role, an administrator, a partner manager and a portal user."""

import uuid
from dataclasses import dataclass

from app.models import User
from tests.factories import make_portal_user, make_user, user_token

SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
MARKETING = uuid.UUID("0190f000-0000-7000-8000-000000000004")
AUTHOR = "solutions:read solutions:write"
CM_SCOPES = "accounts:read accounts:write partners:read partners:write"
PARTNER = "solutions:read leads:read"
PORTAL = "solutions:read cases:read"


@dataclass
class World:
    author: User
    ah: dict  # the author's headers
    oh: dict  # a colleague in another role (reads, cannot change the author's solutions)
    admin_h: dict
    ph: dict  # a partner manager
    portal: User
    th: dict  # the portal user


async def post(client, h, path, body=None, status=201):
    r = await client.post(f"/api/v1/{path}", json=body, headers=h)
    assert r.status_code == status, r.text
    return r.json()


async def make_world(client, session) -> World:
    author = await make_user(session, name="Ann Author", role_id=SALES_REP)
    ah = await user_token(client, session, author, AUTHOR)
    other = await make_user(session, name="Otto Other", role_id=MARKETING)
    oh = await user_token(client, session, other, AUTHOR)
    admin = await make_user(session, name="Ada Admin", is_admin=True)
    admin_h = await user_token(client, session, admin, f"admin {AUTHOR}")
    cm = await make_user(session, name="Channel Manager")
    ch = await user_token(client, session, cm, CM_SCOPES)
    account = await post(client, ch, "accounts", {"name": "Partner Co"})
    await post(client, ch, f"partners/{account['id']}/enable", {"partner_tier": "gold"}, 200)
    manager = await post(
        client,
        ch,
        f"partners/{account['id']}/users",
        {
            "email": f"pm-{uuid.uuid4().hex[:6]}@partner.example.com",
            "name": "Pat Partner",
            "password": "correct horse battery",
            "partner_role": "partner_manager",
        },
    )
    pm = await session.get(User, uuid.UUID(manager["id"]))
    ph = await user_token(client, session, pm, PARTNER)
    portal = await make_portal_user(session, name="Carla Customer")
    th = await user_token(client, session, portal, PORTAL)
    return World(author, ah, oh, admin_h, ph, portal, th)


async def solution(client, h, title, body="", *, publish=False, public=False, **kw) -> dict:
    rec = await post(
        client, h, "solutions", {"title": title, "body": body, "is_public": public, **kw}
    )
    if publish:
        rec = await post(client, h, f"solutions/{rec['id']}/publish", None, 200)
    return rec
