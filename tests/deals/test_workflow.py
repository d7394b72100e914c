"""Deal registration paths of seeds 000/001: register (auto-response, channel manager
notified), approve (time frame, opportunity owned by the partner), reject and resubmit, expiry
and extension on timers, close with proof of performance and margin credit, withdraw."""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app import jobs
from app.kit import clock, db
from app.models import DealRegistration, DomainEvent, EmailMessage, Job, Notification, Opportunity
from tests.deals.world import URL, World, deal, make_world, post, register


@pytest.fixture
async def world(client, session) -> World:
    return await make_world(client, session)


async def _drain(session, settings):
    await jobs.drain(db.savepoint_factory(session.bind), settings=settings, settle_seconds=0)


async def _get(client, h, record_id) -> dict:
    r = await client.get(f"{URL}/{record_id}", headers=h)
    assert r.status_code == 200, r.text
    return r.json()


async def _expiry_jobs(session, record_id) -> list[Job]:
    rows = await session.scalars(
        select(Job).where(Job.name == "deal_registrations.expire").order_by(Job.id)
    )
    return [j for j in rows if j.payload["id"] == str(record_id)]


async def test_partner_creates_a_draft_of_its_own_partner(client, world):
    w = world
    r = await client.post(URL, json=deal(draft=True), headers=w.a.rh)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "draft"
    assert body["partner_account_id"] == w.a.id
    assert body["owner_id"] == str(w.a.rep.id)
    assert body["customer_company_normalized"] == "acme"
    assert body["customer_email_domain"] == "acme-widgets.example.com"
    assert body["submitted_at"] is None and body["has_conflicts"] is False
    # The vendor's field is not shown to partners.
    assert "conflict_of_id" not in body
    # Submitting the draft registers it.
    done = await post(client, w.a.rh, f"deal-registrations/{body['id']}/submit", None, 200)
    assert done["status"] == "submitted" and done["submission_count"] == 1


async def test_registering_confirms_to_the_partner_and_notifies_the_channel_manager(
    client, session, world
):
    w = world
    reg = await register(client, w.a.rh)
    assert reg["status"] == "submitted" and reg["submitted_at"] is not None
    assert reg["submitted_by"] == str(w.a.rep.id) and reg["submission_count"] == 1
    # Submitting again (a retry) changes nothing and sends nothing more.
    again = await post(client, w.a.rh, f"deal-registrations/{reg['id']}/submit", None, 200)
    assert again["version"] == reg["version"] and again["submitted_at"] == reg["submitted_at"]
    mail = (
        await session.scalars(
            select(EmailMessage).where(EmailMessage.related_id == uuid.UUID(reg["id"]))
        )
    ).one()
    assert mail.to_address == w.a.rep.email and mail.status == "queued"
    assert "48 hours" in mail.text_body and "Acme Corp." in mail.subject
    notes = (
        await session.scalars(
            select(Notification).where(Notification.record_id == uuid.UUID(reg["id"]))
        )
    ).all()
    assert [(n.user_id, n.kind) for n in notes] == [(w.cm.id, "deal_registration.submitted")]
    events = (
        await session.scalars(
            select(DomainEvent.event_type).where(DomainEvent.record_id == uuid.UUID(reg["id"]))
        )
    ).all()
    assert events == ["deal_registration.submitted"]
    # The channel manager sees it (roll-up from the partner's users).
    assert (await _get(client, w.ch, reg["id"]))["status"] == "submitted"


async def test_approve_sets_the_time_frame_and_creates_the_partners_opportunity(
    client, session, world
):
    w = world
    reg = await register(client, w.a.rh)
    before = clock.now()
    r = await client.post(f"{URL}/{reg['id']}/approve", json={"protection_days": 30}, headers=w.ch)
    assert r.status_code == 200, r.text
    ok = r.json()
    assert ok["status"] == "approved" and ok["decided_by"] == str(w.cm.id)
    assert ok["protection_seconds"] == 30 * 86400
    expires = datetime.fromisoformat(ok["expires_at"])
    assert timedelta(days=30) <= expires - before < timedelta(days=30, seconds=5)
    assert Decimal(ok["margin_percent"]) == Decimal("5.00")  # gold partner
    opp = await session.get(Opportunity, uuid.UUID(ok["opportunity_id"]))
    assert opp.owner_id == w.a.rep.id and str(opp.partner_account_id) == w.a.id
    assert opp.amount == Decimal("120000.00")
    # The partner sees its new opportunity.
    r = await client.get(f"/api/v1/opportunities/{opp.id}", headers=w.a.rh)
    assert r.status_code == 200
    # The expiry timer is due exactly at the end of the time frame.
    (job,) = await _expiry_jobs(session, reg["id"])
    assert job.run_at == expires
    # Deciding twice is an illegal transition, and changes nothing.
    for action, body in (("approve", {}), ("reject", {"reason": "dup"})):
        r = await client.post(f"{URL}/{reg['id']}/{action}", json=body, headers=w.ch)
        assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    assert (await _get(client, w.ch, reg["id"]))["version"] == ok["version"]


async def test_approve_links_an_existing_opportunity(client, session, world):
    w = world
    opp = await post(
        client, w.ch, "opportunities", {"name": "Acme expansion", "close_date": "2027-06-30"}
    )
    reg = await register(client, w.a.rh)
    ok = await post(
        client,
        w.ch,
        f"deal-registrations/{reg['id']}/approve",
        {"opportunity_id": opp["id"], "protection_seconds": 3600},
        200,
    )
    assert ok["opportunity_id"] == opp["id"]
    row = await session.get(Opportunity, uuid.UUID(opp["id"]))
    await session.refresh(row)
    assert row.owner_id == w.a.rep.id and str(row.partner_account_id) == w.a.id


async def test_reject_then_resubmit_with_more_information(client, session, world):
    w = world
    reg = await register(client, w.a.rh)
    r = await client.post(f"{URL}/{reg['id']}/reject", json={"reason": "  "}, headers=w.ch)
    assert r.status_code == 422
    rejected = await post(
        client,
        w.ch,
        f"deal-registrations/{reg['id']}/reject",
        {"reason": "Who is the decision maker?"},
        200,
    )
    assert rejected["status"] == "rejected"
    assert rejected["rejection_reason"] == "Who is the decision maker?"
    note = (
        await session.scalars(
            select(Notification).where(
                Notification.user_id == w.a.rep.id,
                Notification.kind == "deal_registration.rejected",
            )
        )
    ).one()
    assert note.body == "Who is the decision maker?"
    # A rejected registration cannot be approved or closed.
    r = await client.post(f"{URL}/{reg['id']}/approve", json={}, headers=w.ch)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.post(
        f"{URL}/{reg['id']}/close",
        json={"outcome": "won", "proof_of_performance": "PO"},
        headers=w.a.rh,
    )
    assert r.status_code == 409
    again = await post(
        client,
        w.a.rh,
        f"deal-registrations/{reg['id']}/resubmit",
        {"notes": "Decision maker: the CFO, Jane Doe", "contact_title": "CFO"},
        200,
    )
    assert again["status"] == "submitted" and again["submission_count"] == 2
    assert again["notes"] == "Decision maker: the CFO, Jane Doe"
    assert again["decided_at"] is None
    history = (await client.get(f"{URL}/{reg['id']}/history", headers=w.a.rh)).json()["data"]
    assert "notes" in [h["field"] for h in history]
    # Resubmitting a submitted registration is illegal.
    r = await client.post(f"{URL}/{reg['id']}/resubmit", json={}, headers=w.a.rh)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    assert (await post(client, w.ch, f"deal-registrations/{reg['id']}/approve", {}, 200))[
        "status"
    ] == "approved"


async def test_fields_change_only_before_submission_or_after_rejection(client, world):
    w = world
    draft = await post(client, w.a.rh, "deal-registrations", deal(draft=True))
    url = f"{URL}/{draft['id']}"
    r = await client.patch(url, json={"customer_company": "ACME Industries GmbH"}, headers=w.a.rh)
    assert r.status_code == 200
    assert r.json()["customer_company_normalized"] == "acme industries"
    await post(client, w.a.rh, f"deal-registrations/{draft['id']}/submit", None, 200)
    r = await client.patch(url, json={"notes": "sneaky"}, headers=w.a.rh)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    # Status and decision fields are never set through PATCH.
    r = await client.patch(url, json={"status": "approved"}, headers=w.ch)
    assert r.status_code == 422
    assert (await _get(client, w.a.rh, draft["id"]))["status"] == "submitted"


async def test_expiry_fires_at_the_end_of_the_time_frame(client, session, settings, world):
    w = world
    reg = await register(client, w.a.rh)
    await post(
        client, w.ch, f"deal-registrations/{reg['id']}/approve", {"protection_seconds": 5}, 200
    )
    await _drain(session, settings)
    assert (await _get(client, w.a.rh, reg["id"]))["status"] == "approved"  # not yet due
    clock.advance(seconds=5)
    await _drain(session, settings)
    got = await _get(client, w.a.rh, reg["id"])
    assert got["status"] == "expired" and got["expired_at"] is not None
    kinds = set(
        (
            await session.scalars(
                select(Notification.kind).where(Notification.record_id == uuid.UUID(reg["id"]))
            )
        ).all()
    )
    assert "deal_registration.expired" in kinds
    # Closing an expired registration is illegal; the partner resubmits or asks for more time.
    r = await client.post(
        f"{URL}/{reg['id']}/close",
        json={"outcome": "won", "proof_of_performance": "x"},
        headers=w.a.rh,
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    again = await post(client, w.a.rh, f"deal-registrations/{reg['id']}/resubmit", {}, 200)
    assert again["status"] == "submitted" and again["expires_at"] is None


async def test_extension_moves_the_timer_and_the_stale_one_does_nothing(
    client, session, settings, world
):
    w = world
    reg = await register(client, w.a.rh)
    rid = reg["id"]
    approved = await post(
        client, w.ch, f"deal-registrations/{rid}/approve", {"protection_seconds": 10}, 200
    )
    asked = await post(
        client,
        w.a.rh,
        f"deal-registrations/{rid}/request-extension",
        {"extension_seconds": 20, "reason": "Legal review takes longer"},
        200,
    )
    assert asked["status"] == "extension_requested"
    assert asked["requested_extension_seconds"] == 20
    # Only the vendor decides.
    r = await client.post(f"{URL}/{rid}/grant-extension", json={}, headers=w.a.rh)
    assert r.status_code == 403
    granted = await post(client, w.ch, f"deal-registrations/{rid}/grant-extension", {}, 200)
    assert granted["status"] == "approved" and granted["extension_count"] == 1
    new_end = datetime.fromisoformat(granted["expires_at"])
    assert new_end - datetime.fromisoformat(approved["expires_at"]) == timedelta(seconds=20)
    assert [j.run_at for j in await _expiry_jobs(session, rid)] == [
        datetime.fromisoformat(approved["expires_at"]),
        new_end,
    ]
    clock.advance(seconds=11)  # the first timer is due: stale, it does nothing
    await _drain(session, settings)
    assert (await _get(client, w.a.rh, rid))["status"] == "approved"
    assert [j.run_at for j in await _expiry_jobs(session, rid)] == [new_end]
    clock.advance(seconds=20)
    await _drain(session, settings)
    assert (await _get(client, w.a.rh, rid))["status"] == "expired"
    assert await _expiry_jobs(session, rid) == []


async def test_extension_after_expiry_and_denials(client, session, settings, world):
    w = world
    reg = await register(client, w.a.rh)
    rid = reg["id"]
    await post(client, w.ch, f"deal-registrations/{rid}/approve", {"protection_seconds": 5}, 200)
    # Denied before the end: approved again until the end.
    await post(client, w.a.rh, f"deal-registrations/{rid}/request-extension", {}, 200)
    r = await client.post(f"{URL}/{rid}/deny-extension", json={}, headers=w.ch)
    assert r.status_code == 422  # a reason is needed
    denied = await post(
        client, w.ch, f"deal-registrations/{rid}/deny-extension", {"reason": "No"}, 200
    )
    assert denied["status"] == "approved"
    clock.advance(seconds=6)
    await _drain(session, settings)
    assert (await _get(client, w.a.rh, rid))["status"] == "expired"
    # After expiry the partner may still file for an extension; granted from now.
    await post(client, w.a.rh, f"deal-registrations/{rid}/request-extension", {}, 200)
    now = clock.now()
    granted = await post(
        client,
        w.ch,
        f"deal-registrations/{rid}/grant-extension",
        {"extension_seconds": 30},
        200,
    )
    assert granted["status"] == "approved" and granted["expired_at"] is None
    end = datetime.fromisoformat(granted["expires_at"])
    assert timedelta(seconds=30) <= end - now < timedelta(seconds=32)
    # Asked again, and denied after the end: expired at once.
    await post(client, w.a.rh, f"deal-registrations/{rid}/request-extension", {}, 200)
    clock.advance(seconds=31)
    await _drain(session, settings)  # pending a decision: still protected
    assert (await _get(client, w.a.rh, rid))["status"] == "extension_requested"
    denied = await post(
        client, w.ch, f"deal-registrations/{rid}/deny-extension", {"reason": "Enough"}, 200
    )
    assert denied["status"] == "expired"
    # A second grant is illegal now.
    r = await client.post(f"{URL}/{rid}/grant-extension", json={}, headers=w.ch)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"


async def test_close_won_needs_proof_and_records_the_margin_credit(client, session, world):
    w = world
    reg = await register(client, w.a.rh)
    rid = reg["id"]
    ok = await post(client, w.ch, f"deal-registrations/{rid}/approve", {}, 200)
    r = await client.post(f"{URL}/{rid}/close", json={"outcome": "won"}, headers=w.a.rh)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "proof_of_performance"
    assert (await _get(client, w.a.rh, rid))["status"] == "approved"
    r = await client.post(f"{URL}/{rid}/close", json={"outcome": "maybe"}, headers=w.a.rh)
    assert r.status_code == 422
    won = await post(
        client,
        w.a.rh,
        f"deal-registrations/{rid}/close",
        {
            "outcome": "won",
            "closed_amount": "100000.00",
            "proof_of_performance": [
                {"name": "Purchase order", "url": "https://files.example.com/po-123.pdf"}
            ],
        },
        200,
    )
    assert won["status"] == "closed_won"
    assert Decimal(won["margin_credit"]) == Decimal("5000.00")  # 5 % for gold
    assert won["proof_of_performance"][0]["name"] == "Purchase order"
    opp = await session.get(Opportunity, uuid.UUID(ok["opportunity_id"]))
    await session.refresh(opp)
    assert opp.stage == "Closed Won" and opp.is_won and opp.amount == Decimal("100000.00")
    for action in ("close", "withdraw", "request-extension"):
        body = {"outcome": "lost"} if action == "close" else {}
        r = await client.post(f"{URL}/{rid}/{action}", json=body, headers=w.a.rh)
        assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"


async def test_close_lost_and_withdraw(client, session, world):
    w = world
    lost = await register(client, w.a.rh)
    await post(client, w.ch, f"deal-registrations/{lost['id']}/approve", {}, 200)
    closed = await post(
        client,
        w.a.rh,
        f"deal-registrations/{lost['id']}/close",
        {"outcome": "lost", "lost_reason": "Went with a competitor"},
        200,
    )
    assert closed["status"] == "closed_lost" and Decimal(closed["margin_credit"]) == 0
    gone = await register(client, w.a.rh, deal("Globex Corporation", contact_email=None))
    out = await post(client, w.a.rh, f"deal-registrations/{gone['id']}/withdraw", {}, 200)
    assert out["status"] == "withdrawn"
    r = await client.post(f"{URL}/{gone['id']}/submit", headers=w.a.rh)
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    rows = await session.scalars(
        select(DealRegistration.status).where(
            DealRegistration.id.in_([uuid.UUID(lost["id"]), uuid.UUID(gone["id"])])
        )
    )
    assert sorted(s.value for s in rows) == ["closed_lost", "withdrawn"]


async def test_only_registrations_holding_nothing_go_to_the_recycle_bin(client, world):
    w = world
    reg = await register(client, w.a.rh)
    await post(client, w.ch, f"deal-registrations/{reg['id']}/approve", {}, 200)
    for h in (w.a.rh, w.ch):
        r = await client.delete(f"{URL}/{reg['id']}", headers=h)
        assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    assert (await _get(client, w.a.rh, reg["id"]))["status"] == "approved"
    await post(client, w.a.rh, f"deal-registrations/{reg['id']}/withdraw", {}, 200)
    assert (await client.delete(f"{URL}/{reg['id']}", headers=w.a.rh)).status_code == 204
    assert (await client.get(f"{URL}/{reg['id']}", headers=w.a.rh)).status_code == 404
