"""Never more than allocated, under concurrency: real commits on separate connections."""

import asyncio
import uuid
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import select

from app.models import FundRequest, MdfBudget
from tests.factories import bearer, make_client, make_user, token
from tests.mdf.world import PARTNER, VENDOR, post


async def _setup(app, client):
    """A vendor's channel manager and a partner manager, committed."""
    factory = app.state.session_factory
    async with factory() as s:
        cm = await make_user(s, name="CM")
        cm_client, secret = await make_client(s, VENDOR, user=cm)
        await s.commit()
    ch = bearer(await token(client, cm_client, secret))
    account = await post(client, ch, "accounts", {"name": f"Race {uuid.uuid4().hex[:6]}"})
    await post(client, ch, f"partners/{account['id']}/enable", {"partner_tier": "gold"}, 200)
    manager = await post(
        client,
        ch,
        f"partners/{account['id']}/users",
        {
            "email": f"mgr-{uuid.uuid4().hex[:6]}@race.example.com",
            "name": "Manager",
            "password": "correct horse battery",
            "partner_role": "partner_manager",
        },
    )
    async with factory() as s:
        p_client, p_secret = await make_client(
            s, PARTNER, user=SimpleNamespace(id=uuid.UUID(manager["id"]))
        )
        await s.commit()
    ph = bearer(await token(client, p_client, p_secret))
    return ch, ph, account["id"]


async def test_concurrent_approvals_never_exceed_the_budget(committed_app):
    app, client = committed_app
    ch, ph, partner = await _setup(app, client)
    budget = await post(
        client,
        ch,
        "mdf/budgets",
        {
            "title": "Race budget",
            "partner_account_id": partner,
            "amount": "1000.00",
            "start_date": "2027-01-01",
            "end_date": "2027-12-31",
        },
    )
    ids = []
    for i in range(6):
        req = await post(
            client,
            ph,
            "mdf/requests",
            {
                "title": f"Event {i}",
                "budget_id": budget["id"],
                "activity": "Event",
                "requested_amount": "300.00",
                "start_date": "2027-05-01",
                "end_date": "2027-05-02",
            },
        )
        await post(client, ph, f"mdf/requests/{req['id']}/submit", None, 200)
        ids.append(req["id"])
    results = await asyncio.gather(
        *[client.post(f"/api/v1/mdf/requests/{i}/approve", headers=ch) for i in ids]
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 3 + [409] * 3, [r.text for r in results]
    assert all(r.json()["code"] == "budget_exceeded" for r in results if r.status_code == 409)
    async with app.state.session_factory() as s:
        b = await s.get(MdfBudget, uuid.UUID(budget["id"]))
        assert b.approved_amount == Decimal("900.00")
        approved = await s.scalars(
            select(FundRequest.approved_amount).where(
                FundRequest.budget_id == b.id, FundRequest.status == "approved"
            )
        )
        assert sum(approved.all()) == Decimal("900.00")


async def test_concurrent_claims_never_exceed_the_approved_request(committed_app):
    app, client = committed_app
    ch, ph, partner = await _setup(app, client)
    budget = await post(
        client,
        ch,
        "mdf/budgets",
        {
            "title": "Claims race",
            "partner_account_id": partner,
            "amount": "5000.00",
            "start_date": "2027-01-01",
            "end_date": "2027-12-31",
        },
    )
    req = await post(
        client,
        ph,
        "mdf/requests",
        {
            "title": "Trade show",
            "budget_id": budget["id"],
            "activity": "Trade show",
            "requested_amount": "1000.00",
            "start_date": "2027-05-01",
            "end_date": "2027-05-02",
        },
    )
    await post(client, ph, f"mdf/requests/{req['id']}/submit", None, 200)
    await post(client, ch, f"mdf/requests/{req['id']}/approve", None, 200)
    claims = []
    for i in range(5):
        claim = await post(
            client,
            ph,
            "mdf/claims",
            {
                "title": f"Invoice {i}",
                "request_id": req["id"],
                "amount": "400.00",
                "proof_of_performance": [{"name": "inv", "url": "https://x.example.com/i.pdf"}],
            },
        )
        claims.append(claim["id"])
    results = await asyncio.gather(
        *[client.post(f"/api/v1/mdf/claims/{c}/submit", headers=ph) for c in claims]
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 2 + [409] * 3, [r.text for r in results]
    async with app.state.session_factory() as s:
        row = await s.get(FundRequest, uuid.UUID(req["id"]))
        assert row.claimed_amount == Decimal("800.00")
