"""Case assignment rules: ordered entries, first match wins, round robin and least open cases,
queues, the auto-response, and the reassignment in field history."""

import uuid

from sqlalchemy import select

from app import jobs
from app.kit import db
from app.models import EmailMessage, FieldHistory, Notification
from tests.cases.conftest import _post
from tests.factories import user_token


async def _queue(client, team, name, members, owner=None):
    body = {"name": name, "member_ids": [str(m.id) for m in members]}
    if owner is not None:
        body["owner_id"] = str(owner.id)
    return await _post(client, team.ah, "queues", body)


async def _rule(client, team, entries, active=True, name="Routing"):
    return await _post(
        client,
        team.ah,
        "case-assignment-rules",
        {"name": name, "is_active": active, "entries": entries},
    )


async def test_round_robin_takes_turns_and_logs_the_reassignment(client, session, team):
    q = await _queue(client, team, "Billing", [team.a1, team.a2], owner=team.boss)
    await _rule(
        client,
        team,
        [
            {
                "criteria": {"type": ["Billing Question"]},
                "queue_id": q["id"],
                "distribution": "round_robin",
            }
        ],
    )
    owners = []
    for _ in range(3):
        c = await _post(
            client, team.bh, "cases", {"subject": "Invoice", "type": "Billing Question"}
        )
        owners.append(c["owner_id"])
        assert c["queue_id"] is None
    assert owners == [str(team.a1.id), str(team.a2.id), str(team.a1.id)]
    history = (
        await session.execute(
            select(FieldHistory.field, FieldHistory.old_value, FieldHistory.new_value).where(
                FieldHistory.record_id == uuid.UUID(c["id"]), FieldHistory.field == "owner_id"
            )
        )
    ).all()
    assert [(h.old_value, h.new_value) for h in history] == [(str(team.boss.id), str(team.a1.id))]
    # The agent is told; an unmatched case stays with its creator.
    assert await session.scalar(
        select(Notification.id)
        .where(Notification.user_id == team.a1.id, Notification.kind == "case.assigned")
        .limit(1)
    )
    other = await _post(client, team.bh, "cases", {"subject": "Other", "type": "Feature Request"})
    assert other["owner_id"] == str(team.boss.id)


async def test_first_matching_entry_wins_and_least_open(client, team):
    tier1 = await _queue(client, team, "Tier 1", [team.a1, team.a2], owner=team.boss)
    await _post(client, team.h1, "cases", {"subject": "mine 1"})
    await _post(client, team.h1, "cases", {"subject": "mine 2"})
    await _rule(
        client,
        team,
        [
            {"criteria": {"priority": ["High"], "language": ["de"]}, "user_id": str(team.a2.id)},
            {
                "criteria": {"origin": ["Web"]},
                "queue_id": tier1["id"],
                "distribution": "least_open",
            },
            {"queue_id": tier1["id"]},  # catch-all: the case waits in the queue
        ],
    )
    german = await _post(
        client, team.bh, "cases", {"subject": "Hilfe", "priority": "High", "language": "de-AT"}
    )
    assert german["owner_id"] == str(team.a2.id)
    web = await _post(client, team.bh, "cases", {"subject": "Form", "origin": "Web"})
    assert web["owner_id"] == str(team.a2.id)  # a1 has two open cases, a2 one
    rest = await _post(client, team.bh, "cases", {"subject": "Else", "origin": "Phone"})
    assert rest["queue_id"] == tier1["id"] and rest["owner_id"] == str(team.boss.id)


async def test_account_tier_routes_partner_cases(client, session, team):
    gold = await _post(client, team.ah, "accounts", {"name": "Gold Partner"})
    await _post(
        client,
        team.ah,
        f"partners/{gold['id']}/enable",
        {"partner_program": "Resellers", "partner_tier": "gold"},
        200,
    )
    await _rule(
        client, team, [{"criteria": {"account_tier": ["gold"]}, "user_id": str(team.a1.id)}]
    )
    hit = await _post(client, team.ah, "cases", {"subject": "VIP", "account_id": gold["id"]})
    miss = await _post(client, team.ah, "cases", {"subject": "Plain"})
    assert hit["owner_id"] == str(team.a1.id) and miss["owner_id"] == str(team.admin.id)


async def test_only_one_active_rule_and_admin_only(client, team):
    first = await _rule(client, team, [], name="First")
    second = await _rule(client, team, [], name="Second")
    r = await client.get(f"/api/v1/case-assignment-rules/{first['id']}", headers=team.ah)
    assert r.json()["is_active"] is False and second["is_active"] is True
    r = await client.post(
        "/api/v1/case-assignment-rules", json={"name": "Mine", "entries": []}, headers=team.h1
    )
    assert r.status_code == 403
    r = await client.get("/api/v1/case-assignment-rules", headers=team.h1)
    assert r.status_code == 200 and len(r.json()["data"]) == 2  # agents may read them
    for entries in (
        [{"criteria": {}}],  # no target
        [{"queue_id": str(uuid.uuid4())}],  # no such queue
        [{"user_id": str(team.a1.id), "distribution": "round_robin"}],
        [{"user_id": str(uuid.uuid4())}],
        [{"criteria": {"account_tier": ["diamond"]}, "user_id": str(team.a1.id)}],
        [{"criteria": {"colour": ["red"]}, "user_id": str(team.a1.id)}],
    ):
        r = await client.post(
            "/api/v1/case-assignment-rules",
            json={"name": "Bad", "entries": entries, "is_active": True},
            headers=team.ah,
        )
        assert r.status_code == 422, (entries, r.text)
    r = await client.get(f"/api/v1/case-assignment-rules/{second['id']}", headers=team.ah)
    assert r.json()["is_active"] is True  # the refused rules deactivated nothing


async def test_auto_response_is_sent_from_the_template(client, session, team, settings):
    template = await _post(
        client,
        team.ah,
        "email-templates",
        {
            "name": "We got it",
            "subject": "We received your case",
            "text_body": "Hello {{ contact.first_name }}, we are on it.",
        },
    )
    account = await _post(client, team.ah, "accounts", {"name": "Customer"})
    contact = await _post(
        client,
        team.ah,
        "contacts",
        {
            "last_name": "Doe",
            "first_name": "Jane",
            "email": "jane@example.com",
            "account_id": account["id"],
        },
    )
    await _rule(client, team, [{"user_id": str(team.a1.id), "template_id": template["id"]}])
    await _post(client, team.ah, "cases", {"subject": "Help", "contact_id": contact["id"]})
    await _post(client, team.ah, "cases", {"subject": "Web", "supplied_email": "x@example.com"})
    await _post(client, team.ah, "cases", {"subject": "No address"})
    await session.flush()
    await jobs.drain(db.savepoint_factory(session.bind), settings=settings)
    sent = (
        await session.execute(
            # This test's template only: tests that commit leave their emails behind.
            select(EmailMessage.to_address, EmailMessage.text_body, EmailMessage.template_id).where(
                EmailMessage.template_id == uuid.UUID(template["id"])
            )
        )
    ).all()
    by_to = {m.to_address: m for m in sent}
    assert set(by_to) == {"jane@example.com", "x@example.com"}
    assert by_to["jane@example.com"].text_body == "Hello Jane, we are on it."
    assert str(by_to["x@example.com"].template_id) == template["id"]


async def test_a_support_manager_with_cases_route_may_configure_routing(client, session, team):
    h = await user_token(client, session, team.boss, "cases:read cases:write cases:route")
    r = await client.post(
        "/api/v1/case-assignment-rules", json={"name": "Support", "entries": []}, headers=h
    )
    assert r.status_code == 201, r.text
