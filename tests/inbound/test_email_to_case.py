"""Email-to-case: real MIME messages posted to the inbound endpoint."""

import asyncio
import base64
import uuid

from sqlalchemy import func, select

from app.models import Case, CaseComment
from tests.factories import bearer, make_client, make_user, token
from tests.inbound.conftest import deliver, mail


async def _count(session, model=Case):
    return await session.scalar(select(func.count()).select_from(model))


async def test_anonymous_and_wrong_scope_are_refused(client, world):
    raw = mail().as_bytes()
    r = await client.post(
        "/api/v1/inbound/email", content=raw, headers={"Content-Type": "message/rfc822"}
    )
    assert r.status_code == 401
    r = await client.post(
        "/api/v1/inbound/email",
        content=raw,
        headers={**world.ah, "Content-Type": "message/rfc822"},
    )
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"


async def test_multipart_mail_with_attachment_creates_a_case_for_the_contact(
    client, session, world
):
    account = (
        await client.post("/api/v1/accounts", json={"name": "Customer Co"}, headers=world.ah)
    ).json()
    contact = (
        await client.post(
            "/api/v1/contacts",
            json={
                "last_name": "Doe",
                "email": "Jane@Customer.example",
                "account_id": account["id"],
            },
            headers=world.ah,
        )
    ).json()
    msg = mail(body="Plain text body.")
    msg.add_alternative("<p>Plain <b>HTML</b> body.</p>", subtype="html")
    pdf = b"%PDF-1.4 fake" * 10
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="../../etc/log.pdf")
    out = await deliver(client, world, msg)
    case = out["case"]
    assert out["action"] == "created" and out["contact_match"] == "one"
    assert case["origin"] == "Email" and case["subject"] == "Printer on fire"
    assert case["description"] == "Plain text body."
    assert case["supplied_email"] == "jane@customer.example"
    assert case["supplied_name"] == "Jane Doe"
    assert case["contact_id"] == contact["id"] and case["account_id"] == account["id"]
    assert case["owner_id"] == str(world.admin.id)  # the default case owner
    assert "suggested_solutions" in out
    r = await client.get(f"/api/v1/cases/{case['id']}/attachments", headers=world.ah)
    (att,) = r.json()["data"]
    assert att["filename"] == "log.pdf" and att["size"] == len(pdf)
    assert att["content_type"] == "application/pdf"
    r = await client.get(f"/api/v1/cases/{case['id']}/attachments/{att['id']}", headers=world.ah)
    assert r.status_code == 200 and r.content == pdf
    assert r.headers["content-disposition"].startswith("attachment")
    r = await client.get(f"/api/v1/cases/{case['id']}/attachments/{uuid.uuid4()}", headers=world.ah)
    assert r.status_code == 404


async def test_html_only_mail_and_encoded_subject(client, world):
    msg = mail(subject="Drucker brennt \u2013 schnell! ✓", body=None)
    msg.set_content(
        "<html><body><p>Hallo,</p><p>der Drucker &amp; Scanner</p></body></html>", subtype="html"
    )
    raw = msg.as_bytes()
    assert b"=?utf-8?" in raw  # an RFC 2047 encoded word on the wire
    out = await deliver(client, world, raw)
    assert out["case"]["subject"] == "Drucker brennt \u2013 schnell! ✓"
    assert out["case"]["description"] == "Hallo,\nder Drucker & Scanner"


async def test_several_contacts_with_the_address_leave_the_case_unlinked(client, world):
    for name in ("One", "Two"):
        await client.post(
            "/api/v1/contacts",
            json={"last_name": name, "email": "shared@customer.example"},
            headers=world.ah,
        )
    out = await deliver(client, world, mail(sender="shared@customer.example"))
    assert out["contact_match"] == "several" and out["case"]["contact_id"] is None
    assert out["case"]["supplied_email"] == "shared@customer.example"


async def _agent_reply(client, world, case_id):
    r = await client.post(
        f"/api/v1/cases/{case_id}/emails",
        json={"subject": "Re: your case", "text_body": "Try turning it off."},
        headers=world.ah,
    )
    assert r.status_code == 202, r.text
    return r.json()


async def test_reply_threaded_by_subject_token_is_a_public_comment(client, session, world):
    case = (await deliver(client, world, mail()))["case"]
    sent = await _agent_reply(client, world, case["id"])
    assert f"[ref:{case['case_number']}:" in sent["subject"]
    got = (await client.get(f"/api/v1/cases/{case['id']}", headers=world.ah)).json()
    assert got["first_response_at"] is not None  # the agent's email was the first response
    before = await _count(session)
    reply = mail(
        subject=f"RE: {sent['subject']}",
        body="Did not help.\n\nOn Monday, Agent wrote:\n> Try turning it off.",
        message_id="<reply1@customer.example>",
    )
    out = await deliver(client, world, reply, 200)
    assert out["action"] == "threaded" and out["case"]["id"] == case["id"]
    assert await _count(session) == before
    comment = await session.get(CaseComment, uuid.UUID(out["comment_id"]))
    assert comment.is_public and comment.created_by is None
    assert "Did not help." in comment.body and "Try turning it off" not in comment.body


async def test_reply_threaded_by_in_reply_to_and_references(client, world):
    case = (await deliver(client, world, mail(message_id="<first@customer.example>")))["case"]
    out = await deliver(
        client,
        world,
        mail(
            subject="more info",
            message_id="<second@customer.example>",
            In_Reply_To="<first@customer.example>",
        ),
        200,
    )
    assert out["action"] == "threaded" and out["case"]["id"] == case["id"]
    sent = await _agent_reply(client, world, case["id"])
    out = await deliver(
        client,
        world,
        mail(
            subject="no token here",
            message_id="<third@customer.example>",
            References=f"<first@customer.example> <{sent['id']}@localhost>",
        ),
        200,
    )
    assert out["action"] == "threaded" and out["case"]["id"] == case["id"]


async def test_reply_reopens_a_closed_case(client, world):
    case = (await deliver(client, world, mail()))["case"]
    sent = await _agent_reply(client, world, case["id"])
    r = await client.post(f"/api/v1/cases/{case['id']}/close", json={}, headers=world.adm)
    assert r.status_code == 200 and r.json()["is_closed"] is True
    out = await deliver(
        client, world, mail(subject=sent["subject"], message_id="<late@customer.example>"), 200
    )
    assert out["reopened"] is True and out["case"]["is_closed"] is False


async def test_a_forged_token_starts_a_new_case(client, world):
    case = (await deliver(client, world, mail()))["case"]
    forged = f"Hi [ref:{case['case_number']}:aaaaaaaaaaaa]"
    out = await deliver(client, world, mail(subject=forged, message_id="<forged@x.example>"))
    assert out["action"] == "created" and out["case"]["id"] != case["id"]


async def test_the_same_message_twice_makes_one_case(client, session, world):
    first = await deliver(client, world, mail())
    before = await _count(session)
    again = await deliver(client, world, mail(), 200)
    assert again["action"] == "duplicate" and again["case"]["id"] == first["case"]["id"]
    assert await _count(session) == before


async def test_auto_replies_bulk_and_own_mail_are_ignored(client, session, world):
    before = await _count(session)
    for headers in (
        {"Auto_Submitted": "auto-replied"},
        {"X_Autoreply": "yes"},
        {"Precedence": "bulk"},
        {"Precedence": "auto_reply"},
    ):
        out = await deliver(client, world, mail(message_id=f"<{uuid.uuid4()}@x>", **headers), 200)
        assert out["action"] == "ignored", headers
    out = await deliver(client, world, mail(sender="Accord <no-reply@localhost>"), 200)
    assert out == {**out, "action": "ignored", "reason": "own_address"}
    assert await _count(session) == before


async def test_garbage_is_a_422_and_changes_nothing(client, session, world):
    before = await _count(session)
    h = {**world.gw, "Content-Type": "message/rfc822"}
    for raw in (b"", b"\x00\xff\xfe garbage \x80\x81", b"Subject: no sender\r\n\r\nhello"):
        r = await client.post("/api/v1/inbound/email", content=raw, headers=h)
        assert r.status_code == 422, (raw, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(
        "/api/v1/inbound/email", content=b"x", headers={**world.gw, "Content-Type": "image/png"}
    )
    assert r.status_code == 415
    r = await client.post(
        "/api/v1/inbound/email",
        content=b"{not json",
        headers={**world.gw, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert await _count(session) == before


async def test_parsed_json_mail_with_attachments(client, world):
    body = {
        "from": "Bob <bob@customer.example>",
        "to": ["support@vendor.example"],
        "subject": "JSON mail",
        "html": "<p>Hi <i>there</i></p>",
        "message_id": "<json1@customer.example>",
        "attachments": [
            {
                "filename": "a.txt",
                "content_type": "text/plain",
                "content": base64.b64encode(b"hello").decode(),
            }
        ],
    }
    r = await client.post("/api/v1/inbound/email", json=body, headers=world.gw)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["case"]["description"] == "Hi there" and out["attachments"][0]["size"] == 5
    bad = {**body, "message_id": "<json2@x>", "attachments": [{"content": "!!notbase64"}]}
    r = await client.post("/api/v1/inbound/email", json=bad, headers=world.gw)
    assert r.status_code == 422
    r = await client.post("/api/v1/inbound/email", json={"subject": "x"}, headers=world.gw)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "from"


async def test_oversized_attachments_are_skipped(app, client, world):
    app.state.settings.inbound_max_attachment_bytes = 100
    try:
        msg = mail()
        msg.add_attachment(b"x" * 101, maintype="application", subtype="zip", filename="big.zip")
        msg.add_attachment(b"y" * 10, maintype="text", subtype="plain", filename="ok.txt")
        out = await deliver(client, world, msg)
    finally:
        app.state.settings.inbound_max_attachment_bytes = 1024 * 1024
    assert [a["filename"] for a in out["attachments"]] == ["ok.txt"]
    assert out["skipped_attachments"] == [
        {"filename": "big.zip", "size": 101, "reason": "too_large"}
    ]


async def test_mail_larger_than_other_requests_is_taken_whole(client, world):
    """Inbound mail has its own size limit (10 MB by default), above the 2 MB every other
    request gets: three attachments of 900 KB arrive and are kept."""
    msg = mail(message_id="<big@customer.example>")
    parts = [bytes([65 + i]) * 900_000 for i in range(3)]
    for i, data in enumerate(parts):
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=f"{i}")
    assert len(msg.as_bytes()) > 2 * 1024 * 1024
    out = await deliver(client, world, msg)
    assert [a["size"] for a in out["attachments"]] == [900_000] * 3
    r = await client.post(
        "/api/v1/inbound/email",
        content=b"x" * (10 * 1024 * 1024 + 1),
        headers={**world.gw, "Content-Type": "message/rfc822"},
    )
    assert r.status_code == 413
    r = await client.post(
        "/api/v1/cases",
        content=b"x" * (2 * 1024 * 1024 + 1),
        headers={**world.ah, "Content-Type": "application/json"},
    )
    assert r.status_code == 413


async def test_concurrent_deliveries_of_one_message_make_one_case(committed_app):
    app, client = committed_app
    async with app.state.session_factory() as s:
        await make_user(s, is_admin=True, name="Owner")
        c, secret = await make_client(s, ["cases:inbound"])
        await s.commit()
    h = {**bearer(await token(client, c, secret)), "Content-Type": "message/rfc822"}
    mid = f"<race-{uuid.uuid4()}@customer.example>"
    raw = mail(message_id=mid).as_bytes()
    results = await asyncio.gather(
        *[client.post("/api/v1/inbound/email", content=raw, headers=h) for _ in range(4)]
    )
    assert sorted(r.status_code for r in results) == [200, 200, 200, 201]
    ids = {r.json()["case"]["id"] for r in results}
    assert len(ids) == 1


async def test_auto_response_carries_the_token_and_its_reply_threads(
    client, session, world, settings
):
    from app import jobs
    from app.kit import db
    from app.models import EmailMessage

    r = await client.post(
        "/api/v1/email-templates",
        json={"name": "Got it", "subject": "We received your case", "text_body": "Thanks."},
        headers=world.adm,
    )
    assert r.status_code == 201, r.text
    rule = {
        "name": "All",
        "is_active": True,
        "entries": [{"user_id": str(world.agent.id), "template_id": r.json()["id"]}],
    }
    r = await client.post("/api/v1/case-assignment-rules", json=rule, headers=world.adm)
    assert r.status_code == 201, r.text
    case = (await deliver(client, world, mail()))["case"]
    assert case["owner_id"] == str(world.agent.id)  # routed
    await session.flush()
    await jobs.drain(db.savepoint_factory(session.bind), settings=settings)
    sent = await session.scalar(
        select(EmailMessage).where(EmailMessage.to_address == "jane@customer.example")
    )
    assert sent.subject.startswith("We received your case [ref:" + case["case_number"])
    out = await deliver(
        client,
        world,
        mail(subject="Re: hi", message_id="<r@c.example>", In_Reply_To=f"<{sent.id}@localhost>"),
        200,
    )
    assert out["action"] == "threaded" and out["case"]["id"] == case["id"]
