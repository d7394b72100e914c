from dataclasses import dataclass

import pytest

from app.models import User
from tests.factories import make_user, user_token

ADMIN = (
    "admin cases:read cases:write accounts:read accounts:write contacts:read contacts:write "
    "products:read products:write email_templates:read email_templates:write partners:read "
    "partners:write notifications:read"
)
AGENT = "cases:read cases:write accounts:read contacts:read notifications:read"


@dataclass
class Team:
    admin: User
    ah: dict
    boss: User
    a1: User
    a2: User
    h1: dict
    h2: dict
    bh: dict


async def _post(client, h, path, body, status=201):
    r = await client.post(f"/api/v1/{path}", json=body, headers=h)
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
async def team(client, session) -> Team:
    admin = await make_user(session, is_admin=True, name="Admin")
    boss = await make_user(session, name="Support Manager")
    a1 = await make_user(session, name="Agent One", manager_id=boss.id)
    a2 = await make_user(session, name="Agent Two", manager_id=boss.id)
    return Team(
        admin,
        await user_token(client, session, admin, ADMIN),
        boss,
        a1,
        a2,
        await user_token(client, session, a1, AGENT),
        await user_token(client, session, a2, AGENT),
        await user_token(client, session, boss, AGENT),
    )
