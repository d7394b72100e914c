"""In-app notifications: each user sees, counts and marks only their own."""

import uuid

import pytest

from app.kit import clock
from app.models import Account
from app.notifications import notify
from tests.factories import bearer, make_user, service_token, user_token

SCOPES = "notifications:read notifications:write"


@pytest.fixture
async def two(client, session):
    ann = await make_user(session, name="Ann")
    bob = await make_user(session, name="Bob")
    return (
        (ann, await user_token(client, session, ann, SCOPES)),
        (bob, await user_token(client, session, bob, SCOPES)),
    )


async def test_notify_list_count_and_mark_read(client, session, two):
    (ann, h), (bob, _) = two
    record = uuid.uuid4()
    await notify(
        session,
        ann.id,
        kind="webhook.disabled",
        title="Webhook disabled",
        body="Too many failures",
        link="/api/v1/webhooks/1",
    )
    clock.advance(seconds=1)
    await notify(
        session,
        ann.id,
        kind="deal.registered",
        title="New deal",
        object_type="deal_registrations",
        record_id=record,
    )
    await notify(session, bob.id, kind="deal.registered", title="Bob's deal")
    await session.flush()

    r = await client.get("/api/v1/notifications", headers=h)
    assert r.status_code == 200
    newest, oldest = r.json()["data"]
    assert newest["title"] == "New deal" and newest["record_id"] == str(record)
    assert newest["object_type"] == "deal_registrations" and newest["read_at"] is None
    assert oldest["kind"] == "webhook.disabled" and oldest["link"] == "/api/v1/webhooks/1"
    assert (await client.get("/api/v1/notifications/unread-count", headers=h)).json() == {
        "count": 2
    }

    r = await client.post(f"/api/v1/notifications/{oldest['id']}/read", headers=h)
    assert r.status_code == 200 and r.json()["read_at"] is not None
    first_read = r.json()["read_at"]
    clock.advance(seconds=5)
    r = await client.post(f"/api/v1/notifications/{oldest['id']}/read", headers=h)
    assert r.json()["read_at"] == first_read  # marking again keeps the first time
    assert (await client.get("/api/v1/notifications/unread-count", headers=h)).json()["count"] == 1
    unread = await client.get("/api/v1/notifications", params={"unread": "true"}, headers=h)
    assert [n["id"] for n in unread.json()["data"]] == [newest["id"]]
    read = await client.get("/api/v1/notifications", params={"unread": "false"}, headers=h)
    assert [n["id"] for n in read.json()["data"]] == [oldest["id"]]

    r = await client.post("/api/v1/notifications/read-all", headers=h)
    assert r.json() == {"updated": 1}
    assert (await client.get("/api/v1/notifications/unread-count", headers=h)).json()["count"] == 0


async def test_a_user_never_sees_or_marks_another_users_notifications(client, session, two):
    (ann, ann_h), (_bob, bob_h) = two
    await notify(session, ann.id, kind="x", title="For Ann")
    await session.flush()
    (mine,) = (await client.get("/api/v1/notifications", headers=ann_h)).json()["data"]
    url = f"/api/v1/notifications/{mine['id']}"

    assert (await client.get("/api/v1/notifications", headers=bob_h)).json()["data"] == []
    assert (await client.get(url, headers=bob_h)).status_code == 404
    r = await client.post(f"{url}/read", headers=bob_h)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert (await client.post("/api/v1/notifications/read-all", headers=bob_h)).json() == {
        "updated": 0
    }
    count = await client.get("/api/v1/notifications/unread-count", headers=bob_h)
    assert count.json()["count"] == 0
    # Ann's is untouched.
    assert (await client.get(url, headers=ann_h)).json()["read_at"] is None
    assert (
        await client.post(f"/api/v1/notifications/{uuid.uuid4()}/read", headers=ann_h)
    ).status_code == 404


async def test_keyset_pages_newest_first(client, session, two):
    (ann, h), _ = two
    for i in range(5):
        await notify(session, ann.id, kind="n", title=f"#{i}")
    await session.flush()
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/notifications", params=params, headers=h)).json()
        seen += [n["title"] for n in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["#4", "#3", "#2", "#1", "#0"]
    r = await client.get("/api/v1/notifications", params={"cursor": "garbage!"}, headers=h)
    assert r.status_code == 400


async def test_scopes_and_principals(client, session, two):
    (ann, _), _ = two
    reader = await user_token(client, session, ann, "notifications:read")
    assert (await client.get("/api/v1/notifications", headers=reader)).status_code == 200
    r = await client.post("/api/v1/notifications/read-all", headers=reader)
    assert r.status_code == 403 and r.json()["scope"] == "notifications:write"
    nothing = await user_token(client, session, ann, "leads:read")
    r = await client.get("/api/v1/notifications/unread-count", headers=nothing)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    assert (await client.get("/api/v1/notifications")).status_code == 401
    # A client acting as itself has no notifications of its own.
    tok, _ = await service_token(client, session, SCOPES)
    r = await client.get("/api/v1/notifications", headers=bearer(tok))
    assert r.status_code == 403 and r.json()["code"] == "user_required"


async def test_partner_users_get_notifications(client, session):
    owner = await make_user(session)
    account = Account(name="Partner Co", owner_id=owner.id, is_partner=True, version=1)
    session.add(account)
    await session.flush()
    partner = await make_user(
        session, kind="partner", partner_role="partner_rep", partner_account_id=account.id
    )
    h = await user_token(client, session, partner, SCOPES)
    await notify(session, partner.id, kind="lead.offered", title="A lead for you")
    await session.flush()
    r = await client.get("/api/v1/notifications/unread-count", headers=h)
    assert r.status_code == 200 and r.json()["count"] == 1
