"""Tasks, events and notes: derived closed flag, time order, and visible related records."""

import uuid

import pytest

from tests.factories import make_user, post_ok, user_token

SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
MARKETING = uuid.UUID("0190f000-0000-7000-8000-000000000004")
SCOPES = "activities:read activities:write accounts:read accounts:write leads:read leads:write"
EVENT = {"subject": "Demo", "start_at": "2027-01-10T10:00:00Z", "end_at": "2027-01-10T11:00:00Z"}


@pytest.fixture
async def h(client, session):
    rep = await make_user(session, role_id=SALES_REP)
    other = await make_user(session, role_id=MARKETING)
    return {
        "rep": await user_token(client, session, rep, SCOPES),
        "other": await user_token(client, session, other, SCOPES),
    }


async def test_event_cannot_end_before_it_starts(client, h):
    bad = {**EVENT, "end_at": "2027-01-10T09:59:59Z"}
    err = await post_ok(client, h["rep"], "events", bad, status=422)
    assert err["errors"][0]["field"] == "end_at"
    event = await post_ok(client, h["rep"], "events", {**EVENT, "end_at": EVENT["start_at"]})
    r = await client.patch(
        f"/api/v1/events/{event['id']}", json={"start_at": "2027-01-10T12:00:00Z"}, headers=h["rep"]
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "end_at"


async def test_task_is_closed_when_completed(client, h):
    task = await post_ok(client, h["rep"], "tasks", {"subject": "Call back"})
    assert task["status"] == "Not Started" and task["priority"] == "Normal"
    assert task["is_closed"] is False
    url = f"/api/v1/tasks/{task['id']}"
    r = await client.patch(url, json={"status": "Completed"}, headers=h["rep"])
    assert r.json()["is_closed"] is True
    r = await client.patch(url, json={"is_closed": False}, headers=h["rep"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "is_closed"
    r = await client.patch(url, json={"status": "Done"}, headers=h["rep"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"


async def test_related_records_must_be_visible_and_complete(client, h):
    acc = await post_ok(client, h["rep"], "accounts", {"name": "Acme"})
    lead = await post_ok(client, h["rep"], "leads", {"last_name": "Hopper", "company": "Navy"})
    about = {"what_type": "account", "what_id": acc["id"]}
    task = await post_ok(client, h["rep"], "tasks", {"subject": "Call", **about})
    assert task["what_id"] == acc["id"]
    err = await post_ok(client, h["other"], "tasks", {"subject": "Call", **about}, status=422)
    assert err["errors"][0]["field"] == "what_id"
    err = await post_ok(client, h["rep"], "tasks", {"subject": "Call", "who_id": lead["id"]}, 422)
    assert err["errors"][0]["field"] == "who_type"
    who = {"who_type": "lead", "who_id": lead["id"]}
    err = await post_ok(client, h["rep"], "events", {**EVENT, **who, **about}, status=422)
    assert err["errors"][0]["field"] == "what_id"
    await post_ok(client, h["rep"], "events", {**EVENT, **who})
    note = {"title": "Met", "parent_type": "account", "parent_id": acc["id"]}
    await post_ok(client, h["rep"], "notes", note)
    err = await post_ok(client, h["other"], "notes", note, status=422)
    assert err["errors"][0]["field"] == "parent_id"
    err = await post_ok(client, h["rep"], "notes", {**note, "parent_type": "case"}, status=422)
    assert err["errors"][0]["field"] == "parent_type"
