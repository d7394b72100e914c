"""Ideas: posting, one vote per user, comments, and the status administrators set."""

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from app.models import Idea, IdeaVote, Notification, User
from tests.factories import bearer, make_client, make_portal_user, make_user, token, user_token

IDEAS = "ideas:read ideas:write"
PASSWORD = "correct horse battery"


@dataclass
class World:
    author: User
    ah: dict  # internal author
    vh: dict  # another internal user
    ph: dict  # partner user
    th: dict  # portal user
    admin_h: dict


async def post(client, h, path, body=None, status=201):
    r = await client.post(f"/api/v1/{path}", json=body, headers=h)
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
async def world(client, session) -> World:
    author = await make_user(session, name="Ann Author")
    voter = await make_user(session, name="Vic Voter")
    admin = await make_user(session, name="Ada Admin", is_admin=True)
    cm = await make_user(session, name="Channel Manager")
    ch = await user_token(client, session, cm, "accounts:read accounts:write partners:write")
    account = await post(client, ch, "accounts", {"name": "Partner Co"})
    await post(client, ch, f"partners/{account['id']}/enable", {"partner_tier": "gold"}, 200)
    rep = await post(
        client,
        ch,
        f"partners/{account['id']}/users",
        {
            "email": f"rep-{uuid.uuid4().hex[:6]}@partner.example.com",
            "name": "Pat Partner",
            "password": PASSWORD,
            "partner_role": "partner_rep",
        },
    )
    partner = await session.get(User, uuid.UUID(rep["id"]))
    portal = await make_portal_user(session, name="Carla Customer")
    return World(
        author,
        await user_token(client, session, author, IDEAS),
        await user_token(client, session, voter, IDEAS),
        await user_token(client, session, partner, IDEAS),
        await user_token(client, session, portal, IDEAS),
        await user_token(client, session, admin, f"admin {IDEAS}"),
    )


async def idea(client, h, title="Dark mode", **kw) -> dict:
    return await post(client, h, "ideas", {"title": title, **kw})


async def test_internal_partner_and_portal_users_post_ideas(client, world):
    for h, name in (
        (world.ah, "Ann Author"),
        (world.ph, "Pat Partner"),
        (world.th, "Carla Customer"),
    ):
        rec = await idea(client, h, "Export to CSV", body="Please", category="Reports")
        assert rec["status"] == "new" and rec["author_name"] == name
        # The author's up vote is cast at once, as in Salesforce Ideas.
        assert (rec["score"], rec["up_votes"], rec["down_votes"], rec["my_vote"]) == (1, 1, 0, "up")
        got = (await client.get(f"/api/v1/ideas/{rec['id']}", headers=world.vh)).json()
        assert got["score"] == 1 and got["my_vote"] is None and got["category"] == "Reports"


async def test_ideas_need_a_token_a_scope_and_a_user(client, session, world):
    assert (await client.get("/api/v1/ideas")).status_code == 401
    assert (await client.post("/api/v1/ideas", json={"title": "X"})).status_code == 401
    user = await make_user(session)
    read_only = await user_token(client, session, user, "ideas:read")
    r = await client.post("/api/v1/ideas", json={"title": "X"}, headers=read_only)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    other = await user_token(client, session, user, "solutions:read")
    assert (await client.get("/api/v1/ideas", headers=other)).status_code == 403
    # A client acting as itself reads, but ideas are posted by people.
    c, secret = await make_client(session, IDEAS)
    service = bearer(await token(client, c, secret))
    assert (await client.get("/api/v1/ideas", headers=service)).status_code == 200
    r = await client.post("/api/v1/ideas", json={"title": "X"}, headers=service)
    assert r.status_code == 403 and r.json()["code"] == "user_required"


async def test_malformed_bodies_are_422_and_change_nothing(client, session, world):
    rec = await idea(client, world.ah)
    before = await session.scalar(select(func.count()).select_from(Idea))
    for body in (
        {"title": ""},
        {"title": "X", "score": 100},
        {"body": "no title"},
        {"title": "x" * 256},
    ):
        r = await client.post("/api/v1/ideas", json=body, headers=world.ah)
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith("application/problem+json")
    url = f"/api/v1/ideas/{rec['id']}"
    for body in ({"direction": "sideways"}, {"direction": "up", "weight": 10}):
        assert (await client.post(f"{url}/vote", json=body, headers=world.vh)).status_code == 422
    assert (
        await client.post(f"{url}/comments", json={"body": " "}, headers=world.vh)
    ).status_code == 422
    r = await client.post(f"{url}/status", json={"status": "shipped"}, headers=world.admin_h)
    assert r.status_code == 422
    assert (await client.get("/api/v1/ideas/not-a-uuid", headers=world.ah)).status_code == 422
    assert await session.scalar(select(func.count()).select_from(Idea)) == before
    after = (await client.get(url, headers=world.ah)).json()
    assert (after["score"], after["comment_count"], after["status"]) == (1, 0, "new")


async def test_one_vote_per_user_which_can_change_direction_or_be_withdrawn(client, session, world):
    rec = await idea(client, world.ah)
    url = f"ideas/{rec['id']}/vote"
    r = await client.post(f"/api/v1/{url}", headers=world.vh)  # no body: an up vote
    assert r.status_code == 201 and r.json()["score"] == 2 and r.json()["my_vote"] == "up"
    r = await client.post(f"/api/v1/{url}", json={"direction": "up"}, headers=world.vh)
    assert r.status_code == 409 and r.json()["code"] == "already_voted"
    changed = await post(client, world.vh, url, {"direction": "down"}, 200)
    assert (changed["score"], changed["up_votes"], changed["down_votes"]) == (0, 1, 1)
    assert changed["my_vote"] == "down"
    r = await client.post(f"/api/v1/{url}", json={"direction": "down"}, headers=world.vh)
    assert r.status_code == 409
    assert (await client.delete(f"/api/v1/{url}", headers=world.vh)).status_code == 204
    r = await client.delete(f"/api/v1/{url}", headers=world.vh)
    assert r.status_code == 404 and r.json()["code"] == "no_vote"
    got = (await client.get(f"/api/v1/ideas/{rec['id']}", headers=world.vh)).json()
    assert (got["score"], got["up_votes"], got["down_votes"], got["my_vote"]) == (1, 1, 0, None)
    # The author may take back their own vote too.
    assert (await client.delete(f"/api/v1/{url}", headers=world.ah)).status_code == 204
    votes = await session.scalar(
        select(func.count()).select_from(IdeaVote).where(IdeaVote.idea_id == uuid.UUID(rec["id"]))
    )
    assert votes == 0
    missing = f"/api/v1/ideas/{uuid.uuid4()}/vote"
    assert (await client.post(missing, headers=world.vh)).status_code == 404
    assert (await client.delete(missing, headers=world.vh)).status_code == 404


async def test_list_sorts_by_votes_or_newest_and_pages(client, world):
    low = await idea(client, world.ah, "Low")
    top = await idea(client, world.ah, "Top")
    mid = await idea(client, world.ah, "Mid")
    for h in (world.vh, world.ph, world.th):
        await post(client, h, f"ideas/{top['id']}/vote")
    await post(client, world.vh, f"ideas/{mid['id']}/vote")
    await post(client, world.vh, f"ideas/{low['id']}/vote", {"direction": "down"})
    mine = {"author_id": str(world.author.id)}  # committed ideas of other tests may exist
    r = await client.get("/api/v1/ideas", params=mine, headers=world.th)
    by_votes = r.json()["data"]
    assert [(i["title"], i["score"]) for i in by_votes] == [("Top", 4), ("Mid", 2), ("Low", 0)]
    assert [i["my_vote"] for i in by_votes] == ["up", None, None]
    r = await client.get("/api/v1/ideas", params={**mine, "sort": "-created_at"}, headers=world.ah)
    assert [i["title"] for i in r.json()["data"]] == ["Mid", "Top", "Low"]
    first = (
        await client.get("/api/v1/ideas", params={**mine, "limit": 2}, headers=world.ah)
    ).json()
    params = {**mine, "limit": 2, "cursor": first["next_cursor"]}
    rest = (await client.get("/api/v1/ideas", params=params, headers=world.ah)).json()
    assert [i["title"] for i in first["data"] + rest["data"]] == ["Top", "Mid", "Low"]
    assert rest["next_cursor"] is None
    r = await client.get("/api/v1/ideas", params={"sort": "title"}, headers=world.ah)
    assert r.status_code == 400
    r = await client.get("/api/v1/ideas", params={**mine, "status": "planned"}, headers=world.ah)
    assert r.json()["data"] == []


async def test_only_administrators_set_the_status_along_the_workflow(client, session, world):
    rec = await idea(client, world.ah)
    url = f"/api/v1/ideas/{rec['id']}/status"
    r = await client.post(url, json={"status": "planned"}, headers=world.vh)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    assert (await client.get(f"/api/v1/ideas/{rec['id']}", headers=world.vh)).json()[
        "status"
    ] == "new"
    planned = await post(
        client,
        world.admin_h,
        f"ideas/{rec['id']}/status",
        {"status": "planned", "comment": "Coming in the spring release"},
        200,
    )
    assert planned["status"] == "planned" and planned["status_changed_at"] is not None
    assert planned["comment_count"] == 1
    note = await session.scalar(select(Notification).where(Notification.user_id == world.author.id))
    assert note is not None and note.kind == "idea.status_changed" and "planned" in note.title
    r = await client.post(url, json={"status": "new"}, headers=world.admin_h)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    await post(client, world.admin_h, f"ideas/{rec['id']}/status", {"status": "delivered"}, 200)
    for status in ("planned", "under_review", "delivered"):
        r = await client.post(url, json={"status": status}, headers=world.admin_h)
        assert r.status_code == 409, status
    # The tally of a delivered idea is final.
    r = await client.post(f"/api/v1/ideas/{rec['id']}/vote", headers=world.vh)
    assert r.status_code == 409 and r.json()["code"] == "idea_closed"
    r = await client.delete(f"/api/v1/ideas/{rec['id']}/vote", headers=world.ah)
    assert r.status_code == 409
    r = await client.post(
        f"/api/v1/ideas/{uuid.uuid4()}/status", json={"status": "planned"}, headers=world.admin_h
    )
    assert r.status_code == 404


async def test_comments_count_notify_and_are_removed_by_author_or_admin(client, session, world):
    rec = await idea(client, world.ah)
    base = f"ideas/{rec['id']}/comments"
    first = await post(client, world.th, base, {"body": "Yes please"})
    assert first["author_name"] == "Carla Customer" and first["body"] == "Yes please"
    second = await post(client, world.ph, base, {"body": "Also for partners"})
    listed = (await client.get(f"/api/v1/{base}", headers=world.vh)).json()["data"]
    assert [c["id"] for c in listed] == [first["id"], second["id"]]
    got = (await client.get(f"/api/v1/ideas/{rec['id']}", headers=world.vh)).json()
    assert got["comment_count"] == 2
    kinds = (
        await session.scalars(
            select(Notification.kind).where(Notification.user_id == world.author.id)
        )
    ).all()
    assert kinds == ["idea.commented", "idea.commented"]
    r = await client.delete(f"/api/v1/{base}/{first['id']}", headers=world.ph)
    assert r.status_code == 403 and r.json()["code"] == "not_author"
    assert (
        await client.delete(f"/api/v1/{base}/{first['id']}", headers=world.th)
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/{base}/{second['id']}", headers=world.admin_h)
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/{base}/{second['id']}", headers=world.admin_h)
    ).status_code == 404
    got = (await client.get(f"/api/v1/ideas/{rec['id']}", headers=world.vh)).json()
    assert got["comment_count"] == 0
    missing = f"/api/v1/ideas/{uuid.uuid4()}/comments"
    assert (await client.get(missing, headers=world.vh)).status_code == 404
    assert (await client.post(missing, json={"body": "x"}, headers=world.vh)).status_code == 404


async def test_authors_edit_their_idea_until_it_is_reviewed(client, world):
    rec = await idea(client, world.th, "Typo in title")
    url = f"/api/v1/ideas/{rec['id']}"
    r = await client.patch(url, json={"title": "Better"}, headers=world.vh)
    assert r.status_code == 403 and r.json()["code"] == "not_author"
    r = await client.patch(url, json={"title": "Fixed title"}, headers=world.th)
    assert r.status_code == 200 and r.json()["title"] == "Fixed title"
    assert (await client.patch(url, json={"title": None}, headers=world.th)).status_code == 422
    await post(client, world.admin_h, f"ideas/{rec['id']}/status", {"status": "under_review"}, 200)
    r = await client.patch(url, json={"title": "Sneaky"}, headers=world.th)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.patch(url, json={"category": "UX"}, headers=world.admin_h)
    assert r.status_code == 200 and r.json()["category"] == "UX"
    assert (await client.get(url, headers=world.th)).json()["title"] == "Fixed title"
