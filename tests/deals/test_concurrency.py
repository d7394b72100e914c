"""Under real concurrency (committed transactions on separate connections): two partners
registering the same deal at the same moment, two concurrent decisions, and the expiry timer
firing at its due time in a running worker."""

import asyncio
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import select

from app.jobs import queue
from app.kit import db
from app.models import DealRegistration
from tests.deals.world import PARTNER, URL, VENDOR, deal, post
from tests.factories import bearer, make_client, make_user, token


async def _partner(app, client, ch, name: str) -> dict:
    account = await post(client, ch, "accounts", {"name": f"{name} {uuid.uuid4().hex[:6]}"})
    await post(client, ch, f"partners/{account['id']}/enable", {"partner_tier": "silver"}, 200)
    manager = await post(
        client,
        ch,
        f"partners/{account['id']}/users",
        {
            "email": f"mgr-{uuid.uuid4().hex[:6]}@{name.lower()}.example.com",
            "name": f"{name} manager",
            "password": "correct horse battery",
            "partner_role": "partner_manager",
        },
    )
    async with app.state.session_factory() as s:
        c, secret = await make_client(s, PARTNER, user=SimpleNamespace(id=uuid.UUID(manager["id"])))
        await s.commit()
    return bearer(await token(client, c, secret))


def _deal(company: str) -> dict:
    """Committed data outlives the test: a customer nobody else registers."""
    return deal(company, contact_email=f"cfo@{uuid.uuid4().hex[:8]}.example.com")


async def _world(app, client):
    async with app.state.session_factory() as s:
        cm = await make_user(s, name="CM")
        c, secret = await make_client(s, VENDOR, user=cm)
        await s.commit()
    ch = bearer(await token(client, c, secret))
    return ch, await _partner(app, client, ch, "Alpha"), await _partner(app, client, ch, "Bravo")


def _check_one_clean_one_flagged(seen: list[dict]) -> None:
    flagged = [s for s in seen if s["has_conflicts"]]
    clean = [s for s in seen if not s["has_conflicts"]]
    assert len(flagged) == 1 and len(clean) == 1
    assert flagged[0]["conflict_of_id"] == clean[0]["id"]
    assert flagged[0]["submitted_at"] >= clean[0]["submitted_at"]


async def test_two_partners_registering_the_same_deal_at_once(committed_app):
    app, client = committed_app
    ch, a, b = await _world(app, client)
    company = f"Race {uuid.uuid4().hex[:8]} Industries"
    body = _deal(company)
    for _ in range(3):  # a few rounds: the outcome must never depend on timing
        results = await asyncio.gather(
            client.post(URL, json=body, headers=a),
            client.post(URL, json={**body, "customer_company": f"{company}, Inc."}, headers=b),
        )
        assert [r.status_code for r in results] == [201, 201], [r.text for r in results]
        seen = [(await client.get(f"{URL}/{r.json()['id']}", headers=ch)).json() for r in results]
        _check_one_clean_one_flagged(seen)
        for r, h in zip(results, (a, b), strict=True):
            await post(client, h, f"deal-registrations/{r.json()['id']}/withdraw", {}, 200)


async def test_two_drafts_submitted_at_once(committed_app):
    app, client = committed_app
    ch, a, b = await _world(app, client)
    body = _deal(f"Draft race {uuid.uuid4().hex[:8]}")
    drafts = [
        await post(client, a, "deal-registrations", {**body, "draft": True}),
        await post(client, b, "deal-registrations", {**body, "draft": True}),
    ]
    results = await asyncio.gather(
        *[
            client.post(f"{URL}/{d['id']}/submit", headers=h)
            for d, h in zip(drafts, (a, b), strict=True)
        ]
    )
    assert [r.status_code for r in results] == [200, 200]
    _check_one_clean_one_flagged(
        [(await client.get(f"{URL}/{d['id']}", headers=ch)).json() for d in drafts]
    )


async def test_concurrent_decisions_decide_once(committed_app):
    app, client = committed_app
    ch, a, _ = await _world(app, client)
    reg = await post(client, a, "deal-registrations", _deal(f"Decide {uuid.uuid4().hex[:8]}"))
    await post(client, a, f"deal-registrations/{reg['id']}/submit", None, 200)
    results = await asyncio.gather(
        client.post(f"{URL}/{reg['id']}/approve", json={"protection_days": 10}, headers=ch),
        client.post(f"{URL}/{reg['id']}/approve", json={"protection_days": 20}, headers=ch),
        client.post(f"{URL}/{reg['id']}/reject", json={"reason": "dup"}, headers=ch),
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409]
    for r in results:
        if r.status_code == 409:
            assert r.json()["code"] == "invalid_state_transition"
    winner = next(r.json() for r in results if r.status_code == 200)
    got = (await client.get(f"{URL}/{reg['id']}", headers=ch)).json()
    assert got["status"] == winner["status"] and got["version"] == winner["version"]
    if got["status"] == "approved":  # one opportunity, not two
        opps = (
            await client.get(
                "/api/v1/opportunities",
                params={"partner_account_id": got["partner_account_id"]},
                headers=ch,
            )
        ).json()["data"]
        assert [o["id"] for o in opps] == [got["opportunity_id"]]


async def test_the_timer_fires_at_the_end_of_the_time_frame(committed_app, engine, settings):
    """A running worker expires the registration when its (2 s) time frame ends, not on a
    periodic sweep; an extension granted in time moves the timer."""
    app, client = committed_app
    ch, a, _ = await _world(app, client)
    regs = []
    for _ in range(2):
        reg = await post(client, a, "deal-registrations", _deal(f"Timer {uuid.uuid4().hex[:8]}"))
        await post(client, a, f"deal-registrations/{reg['id']}/submit", None, 200)
        regs.append(reg["id"])
    worker = queue.Worker(
        db.session_factory_for(db.make_sessionmaker(engine)), settings, engine=engine
    )
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.5)
        first = await post(
            client, ch, f"deal-registrations/{regs[0]}/approve", {"protection_seconds": 2}, 200
        )
        second = await post(
            client, ch, f"deal-registrations/{regs[1]}/approve", {"protection_seconds": 2}, 200
        )
        await post(client, a, f"deal-registrations/{regs[1]}/request-extension", {}, 200)
        await post(
            client,
            ch,
            f"deal-registrations/{regs[1]}/grant-extension",
            {"extension_seconds": 2},
            200,
        )
        await asyncio.sleep(1.0)
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(DealRegistration.status).where(
                        DealRegistration.id.in_([uuid.UUID(r) for r in regs])
                    )
                )
            ).all()
        assert {r.status.value for r in rows} == {"approved"}
        await asyncio.sleep(1.6)  # past the first end (2 s), before the extended one (4 s)
        one = (await client.get(f"{URL}/{regs[0]}", headers=ch)).json()
        two = (await client.get(f"{URL}/{regs[1]}", headers=ch)).json()
        assert one["status"] == "expired"
        assert two["status"] == "approved"
        late = datetime.fromisoformat(one["expired_at"]) - datetime.fromisoformat(
            first["expires_at"]
        )
        assert timedelta(0) <= late < timedelta(seconds=1)
        await asyncio.sleep(2.0)
        two = (await client.get(f"{URL}/{regs[1]}", headers=ch)).json()
        assert two["status"] == "expired"
        assert datetime.fromisoformat(two["expires_at"]) - datetime.fromisoformat(
            second["expires_at"]
        ) == timedelta(seconds=2)
    finally:
        worker.stop()
        await asyncio.wait_for(running, 10)
