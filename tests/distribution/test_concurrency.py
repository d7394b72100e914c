"""Races with real commits on separate connections: the shark tank's first acceptance wins
exactly once, and the claw-back fires at its due time in a running worker (not on a sweep)."""

import asyncio
import contextlib
import time
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from app.jobs.queue import run_worker
from app.models import Lead, LeadOffer
from tests.distribution.world import CM_SCOPES, LEAD, PARTNER, post
from tests.factories import bearer, make_client, make_user, token


@pytest.fixture(autouse=True)
async def _no_leftover_jobs(engine):
    """The committed offers' jobs (claw-backs due in 48 hours, emails to nowhere) must not run
    in later tests that move the clock and drain the queue."""
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM jobs WHERE name = 'distribution.expire'"))
        await conn.execute(
            text(
                "DELETE FROM jobs WHERE name = 'email.send' AND payload->'message_ids' ?| "
                "(SELECT coalesce(array_agg(id::text), '{}') FROM email_messages "
                "WHERE to_address LIKE '%@p.example.com')"
            )
        )


async def _token_for(app, client, user_id: str, scopes: str) -> dict:
    async with app.state.session_factory() as s:
        c, secret = await make_client(s, scopes, user=SimpleNamespace(id=uuid.UUID(user_id)))
        await s.commit()
    return bearer(await token(client, c, secret))


async def _setup(app, client, partners: int = 3):
    async with app.state.session_factory() as s:
        cm = await make_user(s, name="CM")
        c, secret = await make_client(s, CM_SCOPES, user=cm)
        await s.commit()
    ch = bearer(await token(client, c, secret))
    out = []
    for i in range(partners):
        account = await post(client, ch, "accounts", {"name": f"P{i} {uuid.uuid4().hex[:6]}"})
        await post(client, ch, f"partners/{account['id']}/enable", {"partner_tier": "gold"}, 200)
        heads = []
        for role in ("partner_manager", "partner_rep"):
            user = await post(
                client,
                ch,
                f"partners/{account['id']}/users",
                {
                    "email": f"{role}-{uuid.uuid4().hex[:8]}@p.example.com",
                    "name": role,
                    "password": "correct horse battery",
                    "partner_role": role,
                },
            )
            heads.append(await _token_for(app, client, user["id"], PARTNER))
        out.append(SimpleNamespace(id=account["id"], mh=heads[0], rh=heads[1]))
    return ch, out


async def _statuses(app, lead_id: str) -> dict[str, str]:
    async with app.state.session_factory() as s:
        rows = await s.execute(
            select(LeadOffer.partner_account_id, LeadOffer.status).where(
                LeadOffer.lead_id == uuid.UUID(lead_id)
            )
        )
        return {str(p): st.value for p, st in rows.all()}


async def test_shark_tank_race_has_exactly_one_winner(committed_app):
    app, client = committed_app
    ch, partners = await _setup(app, client)
    for _ in range(3):
        lead = await post(client, ch, "leads", {**LEAD, "company": f"Race {uuid.uuid4().hex[:6]}"})
        out = await post(
            client,
            ch,
            f"leads/{lead['id']}/offers",
            {"partner_account_ids": [p.id for p in partners]},
        )
        offer_of = {o["partner_account_id"]: o["id"] for o in out["offers"]}
        calls = []
        for p in partners:  # every manager and every rep of every partner at once
            for h in (p.mh, p.rh):
                calls.append(client.post(f"/api/v1/lead-offers/{offer_of[p.id]}/accept", headers=h))
        results = await asyncio.gather(*calls)
        codes = sorted(r.status_code for r in results)
        assert codes == [200] + [409] * (len(calls) - 1), [r.text for r in results]
        assert all(
            r.json()["code"] == "invalid_state_transition" for r in results if r.status_code == 409
        )
        winner = next(r.json() for r in results if r.status_code == 200)
        statuses = await _statuses(app, lead["id"])
        assert sorted(statuses.values()) == ["accepted", "taken", "taken"]
        assert statuses[winner["offer"]["partner_account_id"]] == "accepted"
        async with app.state.session_factory() as s:
            row = await s.get(Lead, uuid.UUID(lead["id"]))
            assert str(row.partner_account_id) == winner["offer"]["partner_account_id"]
            assert str(row.owner_id) == winner["lead"]["owner_id"]


async def test_accept_racing_withdraw_acts_once(committed_app):
    app, client = committed_app
    ch, (p,) = await _setup(app, client, partners=1)
    lead = await post(client, ch, "leads", {**LEAD, "company": f"W {uuid.uuid4().hex[:6]}"})
    (offer,) = (await post(client, ch, f"leads/{lead['id']}/offers", {"partner_account_id": p.id}))[
        "offers"
    ]
    accept, withdraw = await asyncio.gather(
        client.post(f"/api/v1/lead-offers/{offer['id']}/accept", headers=p.rh),
        client.post(f"/api/v1/lead-offers/{offer['id']}/withdraw", headers=ch),
    )
    assert sorted([accept.status_code, withdraw.status_code]) == [200, 409]
    (status,) = (await _statuses(app, lead["id"])).values()
    assert status == ("accepted" if accept.status_code == 200 else "withdrawn")


@pytest.fixture
async def worker(engine, settings, monkeypatch):
    quiet = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9})
    monkeypatch.setattr("app.email.tasks.settings", lambda: quiet)
    task = asyncio.create_task(run_worker(engine, settings))
    await asyncio.sleep(0.3)
    yield task
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def _wait_for(app, lead_id: str, predicate, within: float = 10.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within:
        statuses = await _statuses(app, lead_id)
        if predicate(statuses):
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out: {await _statuses(app, lead_id)}")


async def test_claw_back_fires_at_its_due_time_and_redistributes(committed_app, worker):
    app, client = committed_app
    ch, (a, b) = await _setup(app, client, partners=2)
    interest = f"Gizmo {uuid.uuid4().hex}"  # this test's rule matches this test's lead only
    await post(
        client,
        ch,
        "distribution-rules",
        {
            "name": "timer test",
            "product_interests": [interest],
            "partner_account_ids": [a.id, b.id],
            "time_limit_seconds": 2,
        },
    )
    lead = await post(client, ch, "leads", {**LEAD, "product_interest": interest})
    started = time.monotonic()
    out = await post(client, ch, f"leads/{lead['id']}/distribute", None)
    assert [o["partner_account_id"] for o in out["offers"]] == [a.id]
    await _wait_for(app, lead["id"], lambda s: s.get(a.id) == "expired" and b.id in s)
    elapsed = time.monotonic() - started
    assert 1.9 <= elapsed < 3.5, elapsed
    assert (await _statuses(app, lead["id"]))[b.id] == "offered"
    # Bravo accepts in time and keeps it.
    (item,) = (
        await client.get("/api/v1/lead-inbox", params={"status": "offered"}, headers=b.rh)
    ).json()["data"]
    r = await client.post(f"/api/v1/lead-offers/{item['id']}/accept", headers=b.rh)
    assert r.status_code == 200, r.text
    await asyncio.sleep(2.5)
    assert await _statuses(app, lead["id"]) == {a.id: "expired", b.id: "accepted"}
    async with app.state.session_factory() as s:
        from app.models import DistributionRule

        for rule in (await s.scalars(select(DistributionRule))).all():
            if interest in rule.product_interests:
                await s.delete(rule)
        await s.commit()
