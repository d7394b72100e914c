from dataclasses import dataclass
from email.message import EmailMessage

import pytest

from app.models import User
from tests.factories import bearer, make_user, service_token, user_token

AGENT = "cases:read cases:write contacts:read contacts:write accounts:read accounts:write "
AGENT += "emails:send solutions:read solutions:write email_templates:read email_templates:write"


@dataclass
class World:
    admin: User
    agent: User
    gw: dict  # the mail gateway (cases:inbound)
    ah: dict  # the agent
    adm: dict  # the admin (default owner of new cases)


@pytest.fixture
async def world(app, client, session):
    admin = await make_user(session, is_admin=True, name="Admin")
    # Cases from outside belong to the default case owner (committed tests leave other admins).
    app.state.settings.case_default_owner_id = str(admin.id)
    agent = await make_user(session, name="Agent")
    tok, _ = await service_token(client, session, "cases:inbound")
    yield World(
        admin,
        agent,
        bearer(tok),
        await user_token(client, session, agent, AGENT),
        await user_token(client, session, admin, f"admin {AGENT}"),
    )
    app.state.settings.case_default_owner_id = None


def mail(
    subject="Printer on fire",
    body="It is burning.",
    sender="Jane Doe <jane@customer.example>",
    message_id="<m1@customer.example>",
    **headers,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@vendor.example"
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    if body is not None:
        msg.set_content(body)
    return msg


async def deliver(client, w: World, msg, status=201):
    raw = msg if isinstance(msg, bytes) else msg.as_bytes()
    r = await client.post(
        "/api/v1/inbound/email",
        content=raw,
        headers={**w.gw, "Content-Type": "message/rfc822"},
    )
    assert r.status_code == status, r.text
    return r.json()
