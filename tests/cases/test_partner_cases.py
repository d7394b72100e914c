"""Partners submit cases and see their own, never another partner's; internal comments stay
internal."""

import uuid
from dataclasses import dataclass

import pytest

from app.models import User
from tests.cases.conftest import _post
from tests.factories import user_token

PARTNER = "cases:read cases:write accounts:read contacts:read"


@dataclass
class Partner:
    id: str
    mh: dict
    rh: dict


async def _partner(client, session, team, name) -> Partner:
    account = await _post(client, team.ah, "accounts", {"name": name})
    await _post(
        client,
        team.ah,
        f"partners/{account['id']}/enable",
        {"partner_program": "Resellers", "partner_tier": "silver"},
        200,
    )
    heads = []
    for role in ("partner_manager", "partner_rep"):
        body = {
            "email": f"{role}-{uuid.uuid4().hex[:6]}@{name.lower()}.example.com",
            "name": f"{name} {role}",
            "password": "correct horse battery",
            "partner_role": role,
        }
        u = await _post(client, team.ah, f"partners/{account['id']}/users", body)
        user = await session.get(User, uuid.UUID(u["id"]))
        heads.append(await user_token(client, session, user, PARTNER))
    return Partner(account["id"], *heads)


@pytest.fixture
async def partners(client, session, team):
    return (
        await _partner(client, session, team, "Alpha"),
        await _partner(client, session, team, "Bravo"),
    )


async def _ids(client, h) -> set[str]:
    r = await client.get("/api/v1/cases", headers=h)
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["data"]}


async def test_partner_cases_are_shared_with_their_partner_only(client, team, partners):
    a, b = partners
    # Routing gives every case to an agent: the rep still sees what they submitted.
    await _post(
        client,
        team.ah,
        "case-assignment-rules",
        {"name": "All", "is_active": True, "entries": [{"user_id": str(team.a1.id)}]},
    )
    mine = await _post(client, a.rh, "cases", {"subject": "Partner issue", "origin": "Portal"})
    assert mine["partner_account_id"] == a.id and mine["owner_id"] == str(team.a1.id)
    theirs = await _post(client, b.rh, "cases", {"subject": "Bravo secret"})
    assert await _ids(client, a.rh) == {mine["id"]}
    assert await _ids(client, a.mh) == {mine["id"]}
    assert await _ids(client, b.mh) == {theirs["id"]}
    for path in (f"cases/{theirs['id']}", f"cases/{theirs['id']}/comments"):
        r = await client.get(f"/api/v1/{path}", headers=a.mh)
        assert r.status_code == 404
    r = await client.post(
        f"/api/v1/cases/{theirs['id']}/comments",
        json={"body": "hi", "is_public": True},
        headers=a.mh,
    )
    assert r.status_code == 404
    r = await client.get("/api/v1/cases", params={"partner_account_id": b.id}, headers=a.mh)
    assert r.json()["data"] == []
    # The vendor's agents see both.
    assert {mine["id"], theirs["id"]} <= await _ids(client, team.h2)


async def test_internal_comments_are_hidden_from_partners(client, session, team, partners):
    a, _ = partners
    case = await _post(client, a.rh, "cases", {"subject": "Help"})
    path = f"cases/{case['id']}/comments"
    await _post(client, team.h1, path, {"body": "Internal: customer is difficult"})
    await _post(client, team.h1, path, {"body": "We are looking into it", "is_public": True})
    await _post(client, a.rh, path, {"body": "Thanks", "is_public": True})
    r = await client.post(f"/api/v1/{path}", json={"body": "psst"}, headers=a.rh)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "internal_comment"
    seen = [c["body"] for c in (await client.get(f"/api/v1/{path}", headers=a.rh)).json()["data"]]
    assert seen == ["We are looking into it", "Thanks"]
    agent = (await client.get(f"/api/v1/{path}", headers=team.h1)).json()["data"]
    assert len(agent) == 3


async def test_partners_cannot_route_or_share(client, team, partners):
    a, b = partners
    q = await _post(client, team.ah, "queues", {"name": "Q"})
    for body, field in (
        ({"subject": "x", "queue_id": q["id"]}, "queue_id"),
        ({"subject": "x", "partner_account_id": b.id}, "partner_account_id"),
    ):
        r = await client.post("/api/v1/cases", json=body, headers=a.mh)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field
    # The vendor's routing set-up is not shared with partners.
    for path in ("queues", "case-assignment-rules", "case-escalation-rules", "business-hours"):
        r = await client.get(f"/api/v1/{path}", headers=a.mh)
        assert r.status_code == 200 and r.json()["data"] == []
    assert (await client.get(f"/api/v1/queues/{q['id']}", headers=a.mh)).status_code == 404


async def test_another_partners_case_is_404_on_every_workflow(client, team, partners):
    a, b = partners
    theirs = await _post(client, b.rh, "cases", {"subject": "Bravo only"})
    for verb, body in (("close", {}), ("reopen", {}), ("accept", None)):
        r = await client.post(f"/api/v1/cases/{theirs['id']}/{verb}", json=body, headers=a.mh)
        assert r.status_code in (403, 404), (verb, r.text)
        if verb != "accept":
            assert r.status_code == 404
    r = await client.patch(
        f"/api/v1/cases/{theirs['id']}", json={"subject": "mine now"}, headers=a.mh
    )
    assert r.status_code == 404
    # The partner closes their own case (shared with their account).
    own = await _post(client, a.rh, "cases", {"subject": "Ours"})
    r = await client.post(f"/api/v1/cases/{own['id']}/close", json={}, headers=a.mh)
    assert r.status_code == 200 and r.json()["is_closed"] is True
