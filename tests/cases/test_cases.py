"""Cases: creation, numbers, picklists, comments, closing and reopening, queues and accept."""

import asyncio
import uuid

from sqlalchemy import select, text

from app.models import Case, CaseComment, FieldHistory
from tests.cases.conftest import AGENT, _post
from tests.factories import bearer, make_client, make_user, service_token, token, user_token


async def test_anonymous_and_missing_scope_are_refused(client, session, team):
    assert (await client.get("/api/v1/cases")).status_code == 401
    u = await make_user(session)
    h = await user_token(client, session, u, "accounts:read")
    r = await client.post("/api/v1/cases", json={"subject": "x"}, headers=h)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"


async def test_create_case_numbers_and_defaults(client, team):
    a = await _post(client, team.h1, "cases", {"subject": "Printer on fire", "origin": "Phone"})
    b = await _post(client, team.h1, "cases", {"subject": "Second"})
    assert a["status"] == "New" and a["priority"] == "Medium"
    assert a["owner_id"] == str(team.a1.id) and a["queue_id"] is None
    assert len(a["case_number"]) == 8 and int(b["case_number"]) > int(a["case_number"])
    assert a["is_closed"] is False and a["closed_at"] is None
    got = await client.get(f"/api/v1/cases/{a['id']}", headers=team.h2)
    assert got.status_code == 200  # public read by default: agents see each other's cases
    r = await client.patch(f"/api/v1/cases/{a['id']}", json={"priority": "Low"}, headers=team.h2)
    assert r.status_code == 403  # ...and change their own (and their reports')


async def test_bad_bodies_change_nothing(client, session, team):
    before = await session.scalar(select(text("count(*)")).select_from(Case))
    for body, field in (
        ({"subject": "x", "origin": "Carrier pigeon"}, "origin"),
        ({"subject": "x", "priority": "Whenever"}, "priority"),
        ({"subject": "x", "case_number": "1"}, None),
        ({"subject": "x", "is_closed": True}, None),
        ({"subject": "x", "account_id": str(uuid.uuid4())}, "account_id"),
        ({"subject": "x", "queue_id": str(uuid.uuid4())}, "queue_id"),
        ({"subject": "x", "supplied_email": "not an email"}, None),
        ({"subject": "x", "status": None}, "status"),
    ):
        r = await client.post("/api/v1/cases", json=body, headers=team.h1)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        if field:
            assert r.json()["errors"][0]["field"] == field
    r = await client.post("/api/v1/cases", content=b"{not json", headers=team.h1)
    assert r.status_code == 422
    assert await session.scalar(select(text("count(*)")).select_from(Case)) == before


async def test_comments_public_internal_and_first_response(client, session, team):
    case = await _post(client, team.h1, "cases", {"subject": "Help"})
    path = f"cases/{case['id']}/comments"
    internal = await _post(client, team.h1, path, {"body": "Looks like a driver bug"})
    assert internal["is_public"] is False
    r = await client.get(f"/api/v1/cases/{case['id']}", headers=team.h1)
    assert r.json()["first_response_at"] is None  # internal notes are no response
    await _post(client, team.h1, path, {"body": "We are on it", "is_public": True})
    first = (await client.get(f"/api/v1/cases/{case['id']}", headers=team.h1)).json()
    assert first["first_response_at"] is not None
    await _post(client, team.h2, path, {"body": "Still on it", "is_public": True})
    again = (await client.get(f"/api/v1/cases/{case['id']}", headers=team.h1)).json()
    assert again["first_response_at"] == first["first_response_at"]
    listed = (await client.get(f"/api/v1/{path}", headers=team.h1)).json()["data"]
    assert [c["body"] for c in listed] == ["Looks like a driver bug", "We are on it", "Still on it"]
    r = await client.post(f"/api/v1/{path}", json={"body": ""}, headers=team.h1)
    assert r.status_code == 422
    r = await client.post(f"/api/v1/{path}", json={"body": "x" * 4001}, headers=team.h1)
    assert r.status_code == 422
    r = await client.post(
        f"/api/v1/cases/{uuid.uuid4()}/comments", json={"body": "hi"}, headers=team.h1
    )
    assert r.status_code == 404
    assert await session.scalar(select(text("count(*)")).select_from(CaseComment)) == 3


async def test_service_client_comment_is_not_a_first_response(client, session, team):
    case = await _post(client, team.h1, "cases", {"subject": "Help"})
    tok, _ = await service_token(client, session, "cases:read cases:write")
    await _post(
        client, bearer(tok), f"cases/{case['id']}/comments", {"body": "auto", "is_public": True}
    )
    r = await client.get(f"/api/v1/cases/{case['id']}", headers=team.h1)
    assert r.json()["first_response_at"] is None


async def test_close_and_reopen(client, team):
    case = await _post(client, team.h1, "cases", {"subject": "Help"})
    cid = case["id"]
    closed = await _post(
        client, team.h1, f"cases/{cid}/close", {"comment": "Replaced the toner"}, 200
    )
    assert closed["status"] == "Closed" and closed["is_closed"] and closed["closed_at"]
    assert closed["first_response_at"] is not None  # the closing comment answered
    r = await client.post(f"/api/v1/cases/{cid}/close", json={}, headers=team.h1)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.post(f"/api/v1/cases/{cid}/reopen", json={"status": "Closed"}, headers=team.h1)
    assert r.status_code == 422
    reopened = await _post(client, team.h1, f"cases/{cid}/reopen", {}, 200)
    assert reopened["status"] == "New" and reopened["closed_at"] is None
    assert reopened["is_closed"] is False
    r = await client.post(f"/api/v1/cases/{cid}/reopen", json={}, headers=team.h1)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.post(f"/api/v1/cases/{cid}/close", json={"status": "Working"}, headers=team.h1)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "not_closed_status"
    # A PATCH to a closed status closes too.
    r = await client.patch(f"/api/v1/cases/{cid}", json={"status": "Closed"}, headers=team.h1)
    assert r.status_code == 200 and r.json()["closed_at"] is not None


async def test_queue_and_accept(client, session, team):
    q = await _post(
        client,
        team.ah,
        "queues",
        {"name": "Tier 1", "owner_id": str(team.boss.id), "member_ids": [str(team.a1.id)]},
    )
    r = await client.post("/api/v1/queues", json={"name": "Nope"}, headers=team.h1)
    assert r.status_code == 403
    case = await _post(client, team.h2, "cases", {"subject": "Queued", "queue_id": q["id"]})
    assert case["queue_id"] == q["id"] and case["owner_id"] == str(team.boss.id)
    r = await client.post(f"/api/v1/cases/{case['id']}/accept", headers=team.h2)
    assert r.status_code == 403 and r.json()["code"] == "not_queue_member"
    r = await client.post(f"/api/v1/cases/{case['id']}/accept", headers=team.h1)
    assert r.status_code == 200, r.text
    assert r.json()["owner_id"] == str(team.a1.id) and r.json()["queue_id"] is None
    r = await client.post(f"/api/v1/cases/{case['id']}/accept", headers=team.h1)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    fields = set(
        (
            await session.scalars(
                select(FieldHistory.field).where(FieldHistory.record_id == uuid.UUID(case["id"]))
            )
        ).all()
    )
    assert {"owner_id", "queue_id"} <= fields


async def test_queue_members_set_to_null_means_none(client, session, team):
    q = await _post(client, team.ah, "queues", {"name": "Tier 2", "member_ids": [str(team.a1.id)]})
    r = await client.patch(
        f"/api/v1/queues/{q['id']}", json={"description": "Renamed"}, headers=team.ah
    )
    assert r.status_code == 200 and r.json()["member_ids"] == [str(team.a1.id)]
    # Was a 500 (found by schemathesis): null reached the column, and the output needs a list.
    r = await client.patch(f"/api/v1/queues/{q['id']}", json={"member_ids": None}, headers=team.ah)
    assert r.status_code == 200, r.text
    assert r.json()["member_ids"] == [] and r.json()["version"] == 3
    stored = await session.scalar(
        text("SELECT member_ids FROM queues WHERE id = :id"), {"id": uuid.UUID(q["id"])}
    )
    assert stored == []
    got = await client.get(f"/api/v1/queues/{q['id']}", headers=team.ah)
    assert got.json()["member_ids"] == []


async def test_concurrent_accepts_act_once(committed_app):
    app, http = committed_app
    h_admin, h1, h2, a1, a2 = await _committed_users(app, http)
    q = await _post(http, h_admin, "queues", {"name": "Race queue", "member_ids": [a1, a2]})
    case = await _post(http, h_admin, "cases", {"subject": "Race", "queue_id": q["id"]})
    r1, r2 = await asyncio.gather(
        http.post(f"/api/v1/cases/{case['id']}/accept", headers=h1),
        http.post(f"/api/v1/cases/{case['id']}/accept", headers=h2),
    )
    assert sorted([r1.status_code, r2.status_code]) == [200, 409]
    winner = r1 if r1.status_code == 200 else r2
    final = await http.get(f"/api/v1/cases/{case['id']}", headers=h_admin)
    assert final.json()["owner_id"] == winner.json()["owner_id"]
    assert final.json()["queue_id"] is None


async def test_concurrent_closes_act_once(committed_app):
    app, http = committed_app
    _, h1, _, _, _ = await _committed_users(app, http)
    case = await _post(http, h1, "cases", {"subject": "Close me"})
    r1, r2 = await asyncio.gather(
        http.post(f"/api/v1/cases/{case['id']}/close", json={"comment": "a"}, headers=h1),
        http.post(f"/api/v1/cases/{case['id']}/close", json={"comment": "b"}, headers=h1),
    )
    assert sorted([r1.status_code, r2.status_code]) == [200, 409]
    comments = await http.get(f"/api/v1/cases/{case['id']}/comments", headers=h1)
    assert len(comments.json()["data"]) == 1  # the loser's comment was rolled back


async def _committed_users(app, http):
    async with app.state.session_factory() as s:
        admin = await make_user(s, is_admin=True)
        a1 = await make_user(s)
        a2 = await make_user(s)
        ca, sa = await make_client(s, "admin cases:read cases:write", user=admin)
        c1, s1 = await make_client(s, AGENT, user=a1)
        c2, s2 = await make_client(s, AGENT, user=a2)
        await s.commit()
    heads = [bearer(await token(http, c, x)) for c, x in ((ca, sa), (c1, s1), (c2, s2))]
    return (*heads, str(a1.id), str(a2.id))
