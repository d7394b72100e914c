"""Solutions under concurrency: real commits on separate connections."""

import asyncio
import uuid

from sqlalchemy import select

from app.models import Solution
from app.solutions.service import record_use
from tests.factories import bearer, make_client, make_user, token
from tests.solutions.world import AUTHOR, post


async def _author(app, client) -> dict:
    async with app.state.session_factory() as s:
        user = await make_user(s, name="Racer")
        c, secret = await make_client(s, AUTHOR, user=user)
        await s.commit()
    return bearer(await token(client, c, secret))


async def test_concurrent_publishes_act_once(committed_app):
    app, client = committed_app
    h = await _author(app, client)
    rec = await post(client, h, "solutions", {"title": f"Race {uuid.uuid4().hex[:6]}"})
    results = await asyncio.gather(
        *[client.post(f"/api/v1/solutions/{rec['id']}/publish", headers=h) for _ in range(4)]
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409, 409]
    assert all(
        r.json()["code"] == "invalid_state_transition" for r in results if r.status_code == 409
    )
    after = (await client.get(f"/api/v1/solutions/{rec['id']}", headers=h)).json()
    assert after["status"] == "published" and after["version"] == 2


async def test_concurrent_uses_are_all_counted(committed_app):
    app, client = committed_app
    h = await _author(app, client)
    rec = await post(client, h, "solutions", {"title": "Counted"})
    sid = uuid.UUID(rec["id"])

    async def use():
        async with app.state.session_factory() as s:
            await record_use(s, sid)
            await asyncio.sleep(0.01)  # hold the row a little: the others queue behind it
            await s.commit()

    await asyncio.gather(*[use() for _ in range(10)])
    async with app.state.session_factory() as s:
        assert await s.scalar(select(Solution.times_used).where(Solution.id == sid)) == 10
