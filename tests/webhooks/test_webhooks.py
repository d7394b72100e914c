"""Webhooks: who may manage them, which URLs they may call, what is delivered (only committed
events, in order per record, signed per Standard Webhooks), retries while the receiver is down,
the delivery log, redelivery, and disabling after the retries run out."""

import asyncio
import base64
import time
import uuid
from collections import defaultdict

import orjson
import pytest
from sqlalchemy import select, text

from app import jobs
from app.jobs import queue
from app.kit import clock, db
from app.models import WebhookDelivery, WebhookSubscription
from app.webhooks import signing
from tests.factories import bearer, make_client, make_user, service_token, token, user_token
from tests.webhooks.conftest import verify


def test_signer_matches_the_standard_webhooks_test_vector():
    # The reference libraries' published example.
    sig = signing.sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_secrets_are_sealed_with_the_server_key():
    secret = signing.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 24
    sealed = signing.seal(secret, "server key")
    assert secret not in sealed and signing.unseal(sealed, "server key") == secret
    assert signing.seal(secret, None) == secret


# --- management and permissions -----------------------------------------------------------


async def test_webhooks_need_admin_or_the_webhooks_scope(client, session, receiver):
    body = {"url": receiver.url, "event_types": ["lead.created"]}
    assert (await client.get("/api/v1/webhooks")).status_code == 401
    assert (await client.post("/api/v1/webhooks", json=body)).status_code == 401

    # A non-admin user cannot hold webhooks:* (not in the ceiling of ordinary users).
    user = await make_user(session)
    h = await user_token(client, session, user, "leads:read leads:write webhooks:write")
    for r in (
        await client.get("/api/v1/webhooks", headers=h),
        await client.post("/api/v1/webhooks", json=body, headers=h),
    ):
        assert r.status_code == 403 and r.json()["code"] == "insufficient_scope", r.text

    # A client registered with webhooks:write may; webhooks:read alone may only read.
    reader, _ = await service_token(client, session, "webhooks:read")
    assert (await client.get("/api/v1/webhooks", headers=bearer(reader))).status_code == 200
    r = await client.post("/api/v1/webhooks", json=body, headers=bearer(reader))
    assert r.status_code == 403
    writer, _ = await service_token(client, session, "webhooks:write leads:read")
    r = await client.post("/api/v1/webhooks", json=body, headers=bearer(writer))
    assert r.status_code == 201, r.text
    # An administrator may.
    admin = await make_user(session, is_admin=True)
    h = await user_token(client, session, admin, "admin")
    r = await client.post("/api/v1/webhooks", json=body, headers=h)
    assert r.status_code == 201, r.text


async def test_secret_is_shown_once_and_event_types_are_checked(client, session, receiver):
    tok, _ = await service_token(client, session, "webhooks:write leads:read")
    h = bearer(tok)
    r = await client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "event_types": ["lead.created", "opportunity.*", "*"]},
        headers=h,
    )
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["secret"].startswith("whsec_") and hook["active"] is True
    got = (await client.get(f"/api/v1/webhooks/{hook['id']}", headers=h)).json()
    assert "secret" not in got and got["event_types"] == ["lead.created", "opportunity.*", "*"]
    listed = (await client.get("/api/v1/webhooks", headers=h)).json()["data"]
    assert hook["id"] in [w["id"] for w in listed] and all("secret" not in w for w in listed)

    r = await client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "event_types": ["lead.eaten"]}, headers=h
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_event_type"
    types = (await client.get("/api/v1/webhooks/event-types", headers=h)).json()
    names = {t["event_type"] for t in types}
    assert {"lead.created", "opportunity.deleted", "lead.converted"} <= names

    rotated = (await client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=h)).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != hook["secret"]
    assert (await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=h)).status_code == 204
    assert (await client.get(f"/api/v1/webhooks/{hook['id']}", headers=h)).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/hook",
        "http://192.168.0.10:8080/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9000/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0:8000/hook",
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
    ],
)
async def test_private_loopback_and_link_local_targets_are_refused(client, session, app, url):
    app.state.settings = app.state.settings.model_copy(update={"webhook_allowed_hosts": []})
    tok, _ = await service_token(client, session, "webhooks:write")
    r = await client.post(
        "/api/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=bearer(tok)
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0] == {
        "field": "url",
        "code": "forbidden_target",
        "message": r.json()["errors"][0]["message"],
    }


async def test_allowlisted_hosts_may_be_targets_and_bad_urls_are_refused(
    client, session, app, receiver
):
    tok, _ = await service_token(client, session, "webhooks:write")
    h = bearer(tok)
    # Tests allowlist 127.0.0.1 (ACCORD_WEBHOOK_ALLOWED_HOSTS).
    r = await client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "event_types": ["*"]}, headers=h
    )
    assert r.status_code == 201
    for bad in ("ftp://127.0.0.1/x", "http:///nohost", "http://user:pw@127.0.0.1/x", "nonsense"):
        r = await client.post(
            "/api/v1/webhooks", json={"url": bad, "event_types": ["*"]}, headers=h
        )
        assert r.status_code == 422 and r.json()["errors"][0]["code"] == "invalid_url", bad
    # A change of URL is checked too.
    app.state.settings = app.state.settings.model_copy(update={"webhook_allowed_hosts": []})
    hook = r = (await client.get("/api/v1/webhooks", headers=h)).json()["data"][0]
    r = await client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"url": "http://10.0.0.1/"}, headers=h
    )
    assert r.status_code == 422


# --- delivery -----------------------------------------------------------------------------


async def _hook(http, h, url, event_types) -> dict:
    r = await http.post(
        "/api/v1/webhooks", json={"url": url, "event_types": event_types}, headers=h
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_request_whose_transaction_rolls_back_sends_no_webhook(committed_admin, receiver):
    app, http, h = committed_admin
    engine = app.state.engine
    await jobs.drain(engine, settings=app.state.settings)  # earlier tests' events, if any
    hook = await _hook(http, h, receiver.url, ["*"])
    r = await http.post("/api/v1/contacts", json={"last_name": "Stray"}, headers=h)
    assert r.status_code == 201, r.text
    stray = r.json()
    lead = (
        await http.post("/api/v1/leads", json={"last_name": "L", "company": "C"}, headers=h)
    ).json()
    await jobs.drain(engine, settings=app.state.settings)
    assert [orjson.loads(b)["type"] for _, b in receiver.got] == ["contact.created", "lead.created"]
    receiver.got.clear()

    # Conversion creates an account (a change-feed row), then finds the contact belongs
    # elsewhere: 422, and the whole transaction, account and its event included, rolls back.
    r = await http.post(
        f"/api/v1/leads/{lead['id']}/convert",
        json={"account": {"name": "Never"}, "contact_id": stray["id"]},
        headers=h,
    )
    assert r.status_code == 422, r.text
    await jobs.drain(engine, settings=app.state.settings)
    assert receiver.got == []
    async with db.make_sessionmaker(engine)() as s:
        count = await s.scalar(
            select(text("count(*)"))
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == uuid.UUID(hook["id"]))
        )
    assert count == 2


async def test_lead_conversion_sends_record_events_then_lead_converted(committed_admin, receiver):
    app, http, h = committed_admin
    await jobs.drain(app.state.engine, settings=app.state.settings)
    hook = await _hook(http, h, receiver.url, ["lead.*", "account.created"])
    lead = (
        await http.post("/api/v1/leads", json={"last_name": "Ada", "company": "AE"}, headers=h)
    ).json()
    r = await http.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    await jobs.drain(app.state.engine, settings=app.state.settings)
    bodies = [orjson.loads(b) for _, b in receiver.got]
    assert [b["type"] for b in bodies] == [
        "lead.created",
        "account.created",
        "lead.updated",
        "lead.converted",
    ]
    update, converted = bodies[2], bodies[3]
    assert update["data"]["id"] == lead["id"]
    assert update["data"]["changes"]["is_converted"] == {"old": False, "new": True}
    assert converted["data"]["account_id"] == out["account_id"]
    assert converted["data"]["contact_id"] == out["contact_id"]
    assert all(verify(hook["secret"], hd, b) for hd, b in receiver.got)


async def test_a_receiver_down_for_a_while_gets_every_event_in_order_when_back(
    committed_admin, down_receiver
):
    app, http, h = committed_admin
    engine = app.state.engine
    settings = app.state.settings.model_copy(
        update={
            "webhook_retry_schedule": [0.3, 0.6, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            "jobs_poll_seconds": 0.1,
        }
    )
    await jobs.drain(engine, settings=settings)
    hook = await _hook(http, h, down_receiver.url, ["lead.*"])
    worker = queue.Worker(
        db.session_factory_for(db.make_sessionmaker(engine)), settings, engine=engine
    )
    running = asyncio.create_task(worker.run())
    try:
        leads = []
        for i in range(3):
            r = await http.post(
                "/api/v1/leads", json={"last_name": f"Down{i}", "company": "Co"}, headers=h
            )
            leads.append(r.json()["id"])
        for version in ("v1", "v2", "v3"):
            for lead_id in leads:
                r = await http.patch(f"/api/v1/leads/{lead_id}", json={"title": version}, headers=h)
                assert r.status_code == 200, r.text
        await asyncio.sleep(2.0)  # the receiver is down: attempts fail and back off
        log = (await http.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=h)).json()
        failed = [d for d in log["data"] if d["attempts"] > 0]
        assert failed and all(d["status"] == "pending" for d in log["data"])
        assert all("Connect" in (d["last_error"] or "") for d in failed), failed
        assert max(d["attempts"] for d in failed) >= 2

        await down_receiver.start()  # back up
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(down_receiver.got) < 12:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # nothing more should arrive
    finally:
        worker.stop()
        await running

    got = down_receiver.got
    assert len(got) == 12, [orjson.loads(b)["type"] for _, b in got]
    ids = [hd["webhook-id"] for hd, _ in got]
    assert len(set(ids)) == 12  # every event once
    assert all(verify(hook["secret"], hd, b) for hd, b in got)  # each signature valid
    per_record = defaultdict(list)
    for _, b in got:
        body = orjson.loads(b)
        step = (
            "created" if body["type"] == "lead.created" else body["data"]["changes"]["title"]["new"]
        )
        per_record[body["data"]["id"]].append(step)
    assert dict(per_record) == {lead_id: ["created", "v1", "v2", "v3"] for lead_id in leads}
    log = (await http.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=h)).json()["data"]
    assert {d["status"] for d in log} == {"succeeded"} and len(log) == 12


async def test_redeliver_sends_the_same_message_again(committed_admin, receiver):
    app, http, h = committed_admin
    await jobs.drain(app.state.engine, settings=app.state.settings)
    hook = await _hook(http, h, receiver.url, ["lead.created"])
    await http.post("/api/v1/leads", json={"last_name": "R", "company": "C"}, headers=h)
    await jobs.drain(app.state.engine, settings=app.state.settings)
    [(first_headers, first_body)] = receiver.got
    [delivery] = (await http.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=h)).json()[
        "data"
    ]
    assert delivery["status"] == "succeeded" and delivery["last_status_code"] == 200
    url = f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver"
    r = await http.post(url, headers=h)
    assert r.status_code == 202, r.text
    again = r.json()
    assert (
        again["message_id"] == delivery["message_id"] and again["redelivery_of"] == delivery["id"]
    )
    await jobs.drain(app.state.engine, settings=app.state.settings)
    assert len(receiver.got) == 2
    second_headers, second_body = receiver.got[1]
    assert second_headers["webhook-id"] == first_headers["webhook-id"]
    assert second_body == first_body and verify(hook["secret"], second_headers, second_body)
    log = (await http.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=h)).json()["data"]
    assert [d["id"] for d in log] == [again["id"], delivery["id"]]  # newest first
    assert all(d["status"] == "succeeded" for d in log)

    missing = f"/api/v1/webhooks/{hook['id']}/deliveries/{uuid.uuid4()}/redeliver"
    assert (await http.post(missing, headers=h)).status_code == 404
    # Only with webhooks:write (or admin).
    async with app.state.session_factory() as s:
        c, secret = await make_client(s, "webhooks:read")
        await s.commit()
    reader = bearer(await token(http, c, secret))
    assert (await http.post(url, headers=reader)).status_code == 403
    assert (
        await http.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=reader)
    ).status_code == 200


async def test_failing_endpoint_is_disabled_after_the_retries_and_can_be_re_enabled(
    committed_admin, receiver
):
    app, http, h = committed_admin
    settings = app.state.settings.model_copy(update={"webhook_retry_schedule": [5, 300]})
    await jobs.drain(app.state.engine, settings=settings)
    hook = await _hook(http, h, receiver.url, ["lead.created"])
    receiver.status = 500
    await http.post("/api/v1/leads", json={"last_name": "F", "company": "C"}, headers=h)
    await jobs.drain(app.state.engine, settings=settings)
    assert len(receiver.got) == 1
    for wait in (5, 300):
        await jobs.drain(app.state.engine, settings=settings)
        assert (await http.get(f"/api/v1/webhooks/{hook['id']}", headers=h)).json()["active"]
        clock.advance(seconds=wait + 1)
        await jobs.drain(app.state.engine, settings=settings)
    assert len(receiver.got) == 3  # the first try and two retries
    got = (await http.get(f"/api/v1/webhooks/{hook['id']}", headers=h)).json()
    assert got["active"] is False and "500" in got["disabled_reason"]
    [d] = (await http.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=h)).json()["data"]
    assert d["status"] == "failed" and d["attempts"] == 3 and d["last_status_code"] == 500
    # Its owner heard about it.
    async with app.state.session_factory() as s:
        owner = (await s.get(WebhookSubscription, uuid.UUID(hook["id"]))).owner_id
        notes = (
            await s.execute(
                text("SELECT kind, link FROM notifications WHERE user_id = :u"), {"u": owner}
            )
        ).all()
    assert notes == [("webhook.disabled", f"/api/v1/webhooks/{hook['id']}")]
    # Disabled: new events wait; re-enabled: they go out.
    receiver.status = 200
    await http.post("/api/v1/leads", json={"last_name": "G", "company": "C"}, headers=h)
    await jobs.drain(app.state.engine, settings=settings)
    assert len(receiver.got) == 3
    r = await http.patch(f"/api/v1/webhooks/{hook['id']}", json={"active": True}, headers=h)
    assert r.status_code == 200 and r.json()["active"] is True
    await jobs.drain(app.state.engine, settings=settings)
    assert len(receiver.got) == 4 and orjson.loads(receiver.got[3][1])["data"]["id"]


async def test_gone_endpoint_disables_the_webhook_at_once(committed_admin, receiver):
    app, http, h = committed_admin
    await jobs.drain(app.state.engine, settings=app.state.settings)
    hook = await _hook(http, h, receiver.url, ["*"])
    receiver.status = 410
    await http.post("/api/v1/leads", json={"last_name": "G", "company": "C"}, headers=h)
    await jobs.drain(app.state.engine, settings=app.state.settings)
    got = (await http.get(f"/api/v1/webhooks/{hook['id']}", headers=h)).json()
    assert got["active"] is False and "410" in got["disabled_reason"]
