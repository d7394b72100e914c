"""Votes under concurrency: real commits on separate connections."""

import asyncio
import uuid

from sqlalchemy import func, select

from app.models import Idea, IdeaVote
from tests.factories import bearer, make_client, make_user, token

IDEAS = "ideas:read ideas:write"


async def _users(app, client, n: int) -> list[dict]:
    headers = []
    async with app.state.session_factory() as s:
        clients = []
        for i in range(n):
            user = await make_user(s, name=f"Voter {i}")
            clients.append(await make_client(s, IDEAS, user=user))
        await s.commit()
    for c, secret in clients:
        headers.append(bearer(await token(client, c, secret)))
    return headers


async def _idea(app, idea_id) -> tuple[Idea, int, int]:
    async with app.state.session_factory() as s:
        idea = await s.get(Idea, idea_id)
        ups = await s.scalar(
            select(func.count()).where(IdeaVote.idea_id == idea.id, IdeaVote.value == 1)
        )
        downs = await s.scalar(
            select(func.count()).where(IdeaVote.idea_id == idea.id, IdeaVote.value == -1)
        )
        return idea, ups, downs


async def test_concurrent_double_vote_by_one_user_counts_once(committed_app):
    app, client = committed_app
    author, voter = await _users(app, client, 2)
    r = await client.post("/api/v1/ideas", json={"title": "Race me"}, headers=author)
    idea_id = r.json()["id"]
    results = await asyncio.gather(
        *[client.post(f"/api/v1/ideas/{idea_id}/vote", headers=voter) for _ in range(5)]
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409, 409, 409, 409]
    idea, ups, downs = await _idea(app, uuid.UUID(idea_id))
    assert (idea.score, idea.up_votes, idea.down_votes) == (2, 2, 0) and (ups, downs) == (2, 0)


async def test_concurrent_votes_of_many_users_and_changes_of_mind_keep_the_tally(committed_app):
    app, client = committed_app
    users = await _users(app, client, 7)
    author, voters = users[0], users[1:]
    r = await client.post("/api/v1/ideas", json={"title": "Popular"}, headers=author)
    idea_id = r.json()["id"]
    url = f"/api/v1/ideas/{idea_id}/vote"
    # Every voter votes up and, at the same time, down: whichever lands second changes it.
    calls = [
        client.post(url, json={"direction": d}, headers=h) for h in voters for d in ("up", "down")
    ]
    results = await asyncio.gather(*calls, client.delete(url, headers=author))
    assert all(r.status_code in (200, 201, 204) for r in results), [r.text for r in results]
    idea, ups, downs = await _idea(app, uuid.UUID(idea_id))
    assert (idea.up_votes, idea.down_votes) == (ups, downs)
    assert idea.score == ups - downs and ups + downs == len(voters)
