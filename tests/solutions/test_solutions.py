"""Solutions: the record, its life cycle, who sees what, and the category tree."""

import uuid

import pytest
from sqlalchemy import func, select

from app.models import Solution, SolutionCategory
from tests.factories import make_user, user_token
from tests.solutions.world import World, make_world, post, solution


@pytest.fixture
async def world(client, session) -> World:
    return await make_world(client, session)


async def test_a_new_solution_is_a_draft_and_its_status_is_not_a_field(client, session, world):
    rec = await solution(client, world.ah, "Reset a password", "Open settings.", language="de")
    assert rec["status"] == "draft"
    assert rec["published_at"] is None and rec["times_used"] == 0 and rec["is_public"] is False
    assert rec["owner_id"] == str(world.author.id) and rec["language"] == "de"
    for body in (
        {"title": "X", "status": "published"},
        {"title": "X", "times_used": 5},
        {"title": "X", "published_at": "2027-01-01T00:00:00Z"},
        {"title": ""},
        {"title": "X", "language": "not a language"},
        {"body": "no title"},
    ):
        r = await client.post("/api/v1/solutions", json=body, headers=world.ah)
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith("application/problem+json")
    url = f"/api/v1/solutions/{rec['id']}"
    for body in ({"status": "published"}, {"times_used": 3}, {"title": None}):
        r = await client.patch(url, json=body, headers=world.ah)
        assert r.status_code == 422, body
    assert (await client.get(url, headers=world.ah)).json()["version"] == 1
    mine = select(func.count()).where(Solution.owner_id == world.author.id)
    assert await session.scalar(mine) == 1


async def test_solutions_need_a_token_and_the_scopes(client, session, world):
    assert (await client.get("/api/v1/solutions")).status_code == 401
    assert (await client.get("/api/v1/solutions/search", params={"q": "x"})).status_code == 401
    user = await make_user(session)
    reader = await user_token(client, session, user, "solutions:read")
    nothing = await user_token(client, session, user, "ideas:read")
    r = await client.post("/api/v1/solutions", json={"title": "X"}, headers=reader)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    assert (await client.get("/api/v1/solutions", headers=nothing)).status_code == 403
    r = await client.get("/api/v1/solutions/search", params={"q": "x"}, headers=nothing)
    assert r.status_code == 403
    rec = await solution(client, world.ah, "Scoped")
    r = await client.post(f"/api/v1/solutions/{rec['id']}/publish", headers=reader)
    assert r.status_code == 403


async def test_life_cycle_review_publish_archive_and_republish(client, world):
    rec = await solution(client, world.ah, "Printer offline", "Restart the spooler.")
    url = f"solutions/{rec['id']}"
    reviewed = await post(client, world.ah, f"{url}/review", None, 200)
    assert reviewed["status"] == "reviewed" and reviewed["version"] == 2
    published = await post(client, world.ah, f"{url}/publish", None, 200)
    assert published["status"] == "published" and published["published_at"] is not None
    for step in ("publish", "review"):
        r = await client.post(f"/api/v1/{url}/{step}", headers=world.ah)
        assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
        assert r.json()["current_status"] == "published"
    archived = await post(client, world.ah, f"{url}/archive", None, 200)
    assert archived["status"] == "archived"
    assert archived["published_at"] == published["published_at"]
    r = await client.post(f"/api/v1/{url}/archive", headers=world.ah)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    again = await post(client, world.ah, f"{url}/publish", None, 200)
    assert again["status"] == "published" and again["version"] == 5
    history = (await client.get(f"/api/v1/{url}/history", headers=world.ah)).json()["data"]
    statuses = [(h["old_value"], h["new_value"]) for h in history if h["field"] == "status"]
    assert statuses == [
        ("draft", "reviewed"),
        ("reviewed", "published"),
        ("published", "archived"),
        ("archived", "published"),
    ]


async def test_a_draft_cannot_be_archived_and_nothing_changes(client, world):
    rec = await solution(client, world.ah, "Draft only")
    r = await client.post(f"/api/v1/solutions/{rec['id']}/archive", headers=world.ah)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    after = (await client.get(f"/api/v1/solutions/{rec['id']}", headers=world.ah)).json()
    assert after["status"] == "draft" and after["version"] == 1


async def test_colleagues_read_but_only_the_owner_and_above_publish(client, world):
    rec = await solution(client, world.ah, "Team article")
    url = f"/api/v1/solutions/{rec['id']}"
    assert (await client.get(url, headers=world.oh)).status_code == 200
    r = await client.post(f"{url}/publish", headers=world.oh)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_access"
    assert (await client.patch(url, json={"title": "Mine"}, headers=world.oh)).status_code == 403
    assert (await client.get(url, headers=world.ah)).json()["status"] == "draft"
    assert (await client.post(f"{url}/publish", headers=world.admin_h)).status_code == 200
    r = await client.post(f"/api/v1/solutions/{uuid.uuid4()}/publish", headers=world.ah)
    assert r.status_code == 404


async def test_partners_and_portal_users_see_only_published_public_solutions(client, world):
    visible = await solution(client, world.ah, "Public and live", publish=True, public=True)
    internal = await solution(client, world.ah, "Live but internal", publish=True)
    draft = await solution(client, world.ah, "Public draft", public=True)
    archived = await solution(client, world.ah, "Public archived", publish=True, public=True)
    await post(client, world.ah, f"solutions/{archived['id']}/archive", None, 200)
    for h in (world.ph, world.th):
        listed = (await client.get("/api/v1/solutions", headers=h)).json()["data"]
        assert [x["id"] for x in listed] == [visible["id"]]
        assert (
            await client.get(f"/api/v1/solutions/{visible['id']}", headers=h)
        ).status_code == 200
        for hidden in (internal, draft, archived):
            url = f"/api/v1/solutions/{hidden['id']}"
            assert (await client.get(url, headers=h)).status_code == 404
            assert (await client.get(f"{url}/history", headers=h)).status_code == 404
        # Filtering for drafts is no way round it.
        r = await client.get("/api/v1/solutions", params={"status": "draft"}, headers=h)
        assert r.json()["data"] == []
        r = await client.post("/api/v1/solutions", json={"title": "Mine"}, headers=h)
        assert r.status_code == 403
        r = await client.patch(
            f"/api/v1/solutions/{visible['id']}", json={"title": "Hacked"}, headers=h
        )
        assert r.status_code == 403
    mine = {"owner_id": str(world.author.id)}  # committed solutions of other tests may exist
    r = await client.get("/api/v1/solutions", params=mine, headers=world.oh)
    internal_list = r.json()["data"]
    assert len(internal_list) == 4


async def test_unpublishing_hides_a_solution_from_the_portal_at_once(client, world):
    rec = await solution(client, world.ah, "Soon gone", publish=True, public=True)
    url = f"/api/v1/solutions/{rec['id']}"
    assert (await client.get(url, headers=world.th)).status_code == 200
    await post(client, world.ah, f"solutions/{rec['id']}/archive", None, 200)
    assert (await client.get(url, headers=world.th)).status_code == 404
    await client.patch(url, json={"is_public": False}, headers=world.ah)
    await post(client, world.ah, f"solutions/{rec['id']}/publish", None, 200)
    assert (await client.get(url, headers=world.th)).status_code == 404


async def test_unknown_category_is_refused_and_nothing_is_created(client, session, world):
    r = await client.post(
        "/api/v1/solutions",
        json={"title": "Lost", "category_id": str(uuid.uuid4())},
        headers=world.ah,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "category_id"
    mine = select(func.count()).where(Solution.owner_id == world.author.id)
    assert await session.scalar(mine) == 0


async def test_categories_are_managed_by_administrators(client, session, world):
    top = await post(client, world.admin_h, "solution-categories", {"name": "Hardware"})
    sub = await post(
        client, world.admin_h, "solution-categories", {"name": "Printers", "parent_id": top["id"]}
    )
    assert sub["parent_id"] == top["id"]
    # Everyone who reads solutions reads the tree (the portal too); only admins change it.
    for h in (world.ah, world.th, world.ph):
        listed = (await client.get("/api/v1/solution-categories", headers=h)).json()["data"]
        assert {c["id"] for c in listed} == {top["id"], sub["id"]}
    r = await client.post("/api/v1/solution-categories", json={"name": "X"}, headers=world.ah)
    assert r.status_code == 403
    r = await client.patch(
        f"/api/v1/solution-categories/{top['id']}", json={"name": "X"}, headers=world.ah
    )
    assert r.status_code == 403
    # Same name at the same level: 409; a cycle or an unknown parent: 422.
    r = await client.post(
        "/api/v1/solution-categories", json={"name": "Hardware"}, headers=world.admin_h
    )
    assert r.status_code == 409
    r = await client.patch(
        f"/api/v1/solution-categories/{top['id']}",
        json={"parent_id": sub["id"]},
        headers=world.admin_h,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "cycle"
    r = await client.post(
        "/api/v1/solution-categories",
        json={"name": "Orphan", "parent_id": str(uuid.uuid4())},
        headers=world.admin_h,
    )
    assert r.status_code == 422
    # In use: 409 until emptied.
    rec = await solution(client, world.ah, "Jammed paper", category_id=sub["id"])
    r = await client.delete(f"/api/v1/solution-categories/{sub['id']}", headers=world.admin_h)
    assert r.status_code == 409 and r.json()["code"] == "category_in_use"
    r = await client.delete(f"/api/v1/solution-categories/{top['id']}", headers=world.admin_h)
    assert r.status_code == 409
    await client.patch(
        f"/api/v1/solutions/{rec['id']}", json={"category_id": None}, headers=world.ah
    )
    r = await client.delete(f"/api/v1/solution-categories/{sub['id']}", headers=world.admin_h)
    assert r.status_code == 204
    left = select(func.count()).where(SolutionCategory.id.in_([top["id"], sub["id"]]))
    assert await session.scalar(left) == 1
    r = await client.get(f"/api/v1/solution-categories/{sub['id']}", headers=world.ah)
    assert r.status_code == 404
