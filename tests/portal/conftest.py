from dataclasses import dataclass

import pytest

from app.models import Contact, User
from tests.factories import make_portal_user, make_user, user_token

ADMIN = (
    "admin users:write cases:read cases:write accounts:read accounts:write contacts:read "
    "contacts:write partners:read partners:write"
)
AGENT = "cases:read cases:write accounts:read contacts:read"
PORTAL = "cases:read cases:write solutions:read ideas:read ideas:write contacts:read contacts:write"


@dataclass
class Customer:
    user: User
    contact: Contact
    h: dict


@dataclass
class World:
    admin: User
    ah: dict
    agent: User
    gh: dict
    a: Customer  # customer account A
    a2: Customer  # a colleague at account A (another contact)
    b: Customer  # customer account B


async def _customer(client, session, owner, email, account_id=None) -> Customer:
    user = await make_portal_user(session, owner=owner, email=email, last_name=email[:5])
    contact = await session.get(Contact, user.contact_id)
    contact.email = email
    if account_id is not None:
        contact.account_id = account_id
    await session.flush()
    return Customer(user, contact, await user_token(client, session, user, PORTAL))


@pytest.fixture
async def world(client, session) -> World:
    admin = await make_user(session, is_admin=True, name="Admin")
    agent = await make_user(session, name="Agent")
    a = await _customer(client, session, agent, "alice@acme.example")
    a2 = await _customer(client, session, agent, "arthur@acme.example", a.contact.account_id)
    b = await _customer(client, session, agent, "bob@globex.example")
    return World(
        admin,
        await user_token(client, session, admin, ADMIN),
        agent,
        await user_token(client, session, agent, AGENT),
        a,
        a2,
        b,
    )


async def post(client, h, path, body, status=201):
    r = await client.post(path, json=body, headers=h)
    assert r.status_code == status, r.text
    return r.json()
