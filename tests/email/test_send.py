"""Sending an email from a record: queued in the request's transaction, sent by a job to a real
SMTP server on loopback, logged as a completed task; never sent for a rolled-back request,
retried while the server is down and sent once."""

import uuid

from sqlalchemy import func, select

from app import jobs
from app.kit import clock
from app.models import Contact, EmailMessage
from tests.factories import post_ok, user_token

TEMPLATE = {
    "name": "Intro",
    "subject": "Hello {{ contact.first_name }} from {{ user.name }}",
    "html_body": (
        "<html><body><p>Dear {{ contact.name }} of {{ account.name }},</p>"
        '<p><a href="https://example.com/pricing?a=1&amp;b=2">Pricing</a></p></body></html>'
    ),
    "text_body": "Dear {{ contact.first_name }} of {{ account.name }}",
}


async def _contact(client, h, **extra):
    account = await post_ok(client, h, "accounts", {"name": "Acme"})
    body = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": f"ada-{uuid.uuid4().hex[:6]}@acme.example.com",
        "account_id": account["id"],
        **extra,
    }
    return await post_ok(client, h, "contacts", body)


async def _messages(session, **where) -> list[EmailMessage]:
    stmt = select(EmailMessage).filter_by(**where)
    return list(await session.scalars(stmt))


async def test_send_from_contact_lands_on_smtp_merged_and_is_logged_as_a_task(
    client, rep, smtp_server, run_jobs
):
    user, h = rep
    contact = await _contact(client, h)
    template = await post_ok(client, h, "email-templates", TEMPLATE)
    sent = await post_ok(
        client, h, f"contacts/{contact['id']}/emails", {"template_id": template["id"]}, 202
    )
    assert sent["status"] == "queued" and sent["to_address"] == contact["email"]
    assert sent["subject"] == "Hello Ada from Rita Rep"
    assert smtp_server.inbox.messages == []  # nothing leaves before the job runs

    assert await run_jobs() >= 1
    (msg,) = smtp_server.inbox.to(contact["email"])
    assert msg["Subject"] == "Hello Ada from Rita Rep"
    assert msg["To"].addresses[0].display_name == "Ada Lovelace"
    assert msg["Reply-To"] == user.email
    assert msg["From"].addresses[0].display_name == "Rita Rep"
    assert msg["Message-ID"] == f"<{sent['id']}@localhost>"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Dear Ada of Acme" in text
    assert "Dear Ada Lovelace of Acme," in html

    r = await client.get(f"/api/v1/emails/{sent['id']}", headers=h)
    email = r.json()
    assert email["status"] == "sent" and email["sent_at"] and email["attempts"] == 1
    tasks = await client.get(
        "/api/v1/tasks", params={"who_id": contact["id"], "subtype": "Email"}, headers=h
    )
    (task,) = tasks.json()["data"]
    assert task["id"] == email["task_id"]
    assert task["status"] == "Completed" and task["is_closed"] is True
    assert task["subject"] == "Email: Hello Ada from Rita Rep"
    assert task["owner_id"] == str(user.id) and task["created_by"] == str(user.id)
    # Listing by record shows it to whoever can read the record.
    listed = await client.get(
        "/api/v1/emails", params={"related_type": "contact", "related_id": contact["id"]}, headers=h
    )
    assert [e["id"] for e in listed.json()["data"]] == [sent["id"]]


async def test_send_to_lead_with_subject_and_body_and_explicit_address(
    client, rep, smtp_server, run_jobs
):
    _, h = rep
    lead = await post_ok(
        client, h, "leads", {"last_name": "Hopper", "company": "Navy", "email": "g@navy.example"}
    )
    body = {
        "subject": "About {{ lead.company }}",
        "text_body": "Hi {{ lead.name }}, {{ lead.title }}!",
        "to": "grace@home.example",
    }
    sent = await post_ok(client, h, f"leads/{lead['id']}/emails", body, 202)
    await run_jobs()
    assert smtp_server.inbox.to("g@navy.example") == []
    (msg,) = smtp_server.inbox.to("grace@home.example")
    assert msg["Subject"] == "About Navy"
    assert msg.get_content().strip() == "Hi Hopper, !"  # null fields merge as empty text
    assert not msg.is_multipart()
    r = await client.get("/api/v1/tasks", params={"who_id": lead["id"]}, headers=h)
    assert [t["subtype"] for t in r.json()["data"]] == ["Email"]
    assert (await client.get(f"/api/v1/emails/{sent['id']}", headers=h)).json()["status"] == "sent"


async def test_generic_send_about_an_account_or_to_an_address(client, rep, smtp_server, run_jobs):
    _, h = rep
    account = await post_ok(client, h, "accounts", {"name": "Initech"})
    body = {"subject": "{{ account.name }}", "text_body": "x", "to": "cfo@initech.example"}
    err = await post_ok(
        client,
        h,
        "emails",
        {**body, "to": None, "related_type": "account", "related_id": account["id"]},
        422,
    )
    assert err["errors"][0]["field"] == "to"
    await post_ok(
        client, h, "emails", {**body, "related_type": "account", "related_id": account["id"]}, 202
    )
    await post_ok(
        client, h, "emails", {"subject": "Plain", "text_body": "x", "to": "a@b.example"}, 202
    )
    await run_jobs()
    assert smtp_server.inbox.to("cfo@initech.example")[0]["Subject"] == "Initech"
    assert smtp_server.inbox.to("a@b.example")[0]["Subject"] == "Plain"
    r = await client.get("/api/v1/tasks", params={"what_id": account["id"]}, headers=h)
    assert [t["subtype"] for t in r.json()["data"]] == ["Email"]


async def test_a_rolled_back_request_sends_nothing(client, session, rep, smtp_server, run_jobs):
    _, h = rep
    contact = await _contact(client, h)
    ops = [
        {
            "method": "POST",
            "path": f"/api/v1/contacts/{contact['id']}/emails",
            "body": {"subject": "Hi", "text_body": "Never sent"},
        },
        {"method": "POST", "path": "/api/v1/leads", "body": {"company": "No last name"}},
    ]
    r = await client.post("/api/v1/batch", json={"operations": ops}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["status"] == 202
    assert r.json()["committed"] is False
    await run_jobs()
    assert smtp_server.inbox.messages == []
    assert await _messages(session, related_id=uuid.UUID(contact["id"])) == []


async def test_smtp_down_then_up_is_retried_and_delivered_once(
    client, session, rep, smtp_server, run_jobs
):
    _, h = rep
    contact = await _contact(client, h)
    smtp_server.stop()
    sent = await post_ok(
        client, h, f"contacts/{contact['id']}/emails", {"subject": "Hi", "text_body": "x"}, 202
    )
    await run_jobs()
    email = (await client.get(f"/api/v1/emails/{sent['id']}", headers=h)).json()
    assert email["status"] == "queued" and email["attempts"] == 1
    assert "unavailable" in email["error"]
    assert email["task_id"] is None

    smtp_server.start()
    await run_jobs()  # the retry is not due yet
    assert smtp_server.inbox.messages == []
    clock.advance(seconds=120)
    await run_jobs()
    assert len(smtp_server.inbox.to(contact["email"])) == 1
    email = (await client.get(f"/api/v1/emails/{sent['id']}", headers=h)).json()
    assert email["status"] == "sent" and email["attempts"] == 2 and email["error"] is None
    assert email["task_id"] is not None

    # A duplicate or retried job for the same message sends nothing more.
    await jobs.enqueue(session, "email.send", {"message_ids": [sent["id"]]})
    await run_jobs()
    assert len(smtp_server.inbox.messages) == 1
    r = await client.get("/api/v1/tasks", params={"who_id": contact["id"]}, headers=h)
    assert len(r.json()["data"]) == 1


async def test_last_attempt_marks_the_email_failed(client, session, rep, smtp_server, run_jobs):
    _, h = rep
    contact = await _contact(client, h)
    smtp_server.stop()
    sent = await post_ok(
        client, h, f"contacts/{contact['id']}/emails", {"subject": "Hi", "text_body": "x"}, 202
    )
    for _ in range(10):
        await run_jobs()
        clock.advance(seconds=3700)
    row = (
        await session.execute(
            select(EmailMessage.status, EmailMessage.attempts, EmailMessage.error).where(
                EmailMessage.id == uuid.UUID(sent["id"])
            )
        )
    ).one()
    assert row.status == "failed" and row.attempts == 10
    assert "unavailable" in row.error


async def test_a_refused_recipient_fails_the_email_without_retrying(
    client, rep, smtp_server, run_jobs
):
    _, h = rep
    contact = await _contact(client, h)
    smtp_server.inbox.refuse(contact["email"])
    sent = await post_ok(
        client, h, f"contacts/{contact['id']}/emails", {"subject": "Hi", "text_body": "x"}, 202
    )
    await run_jobs()
    email = (await client.get(f"/api/v1/emails/{sent['id']}", headers=h)).json()
    assert email["status"] == "failed" and "550" in email["error"]
    assert email["task_id"] is None


async def test_opted_out_person_is_refused(client, session, rep, run_jobs):
    _, h = rep
    contact = await _contact(client, h, has_opted_out_of_email=True)
    err = await post_ok(
        client, h, f"contacts/{contact['id']}/emails", {"subject": "Hi", "text_body": "x"}, 422
    )
    assert err["code"] == "opted_out"
    err = await post_ok(
        client,
        h,
        f"contacts/{contact['id']}/emails",
        {"subject": "Hi", "text_body": "x", "to": "other@example.com"},
        422,
    )
    assert err["code"] == "opted_out"
    assert await _messages(session, related_id=uuid.UUID(contact["id"])) == []


async def test_record_without_email_needs_an_address(client, rep):
    _, h = rep
    lead = await post_ok(client, h, "leads", {"last_name": "Hopper", "company": "Navy"})
    err = await post_ok(
        client, h, f"leads/{lead['id']}/emails", {"subject": "Hi", "text_body": "x"}, 422
    )
    assert err["errors"][0]["field"] == "to"


async def test_bad_bodies_are_422(client, rep):
    _, h = rep
    contact = await _contact(client, h)
    url = f"contacts/{contact['id']}/emails"
    for body in (
        {},
        {"subject": "Hi"},
        {"template_id": str(uuid.uuid4())},
        {"template_id": str(uuid.uuid4()), "subject": "x", "text_body": "y"},
        {"subject": "Hi", "text_body": "x", "to": "not an address"},
        {"subject": "Hi", "text_body": "{{ ''.__class__ }}"},
        {"subject": "Hi", "text_body": "x", "related_type": "lead"},
    ):
        r = await client.post(f"/api/v1/{url}", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)


async def test_inactive_template_cannot_be_sent(client, rep):
    _, h = rep
    contact = await _contact(client, h)
    template = await post_ok(client, h, "email-templates", {**TEMPLATE, "is_active": False})
    err = await post_ok(
        client, h, f"contacts/{contact['id']}/emails", {"template_id": template["id"]}, 422
    )
    assert err["errors"][0] == {
        "field": "template_id",
        "code": "inactive",
        "message": "This email template is not active",
    }


async def test_someone_elses_record_is_404_and_its_emails_invisible(client, rep, other, run_jobs):
    _, h = rep
    _, outsider = other
    contact = await _contact(client, h)
    sent = await post_ok(
        client, h, f"contacts/{contact['id']}/emails", {"subject": "Hi", "text_body": "x"}, 202
    )
    r = await client.post(
        f"/api/v1/contacts/{contact['id']}/emails",
        json={"subject": "Hi", "text_body": "x"},
        headers=outsider,
    )
    assert r.status_code == 404
    r = await client.post(
        "/api/v1/emails",
        json={
            "subject": "Hi",
            "text_body": "x",
            "related_type": "contact",
            "related_id": contact["id"],
        },
        headers=outsider,
    )
    assert r.status_code == 404
    assert (await client.get(f"/api/v1/emails/{sent['id']}", headers=outsider)).status_code == 404
    listed = await client.get("/api/v1/emails", headers=outsider)
    assert sent["id"] not in [e["id"] for e in listed.json()["data"]]


async def test_wrong_scope_is_403_and_anonymous_401(client, session, rep):
    user, h = rep
    contact = await _contact(client, h)
    reader = await user_token(client, session, user, "contacts:read emails:read")
    r = await client.post(
        f"/api/v1/contacts/{contact['id']}/emails",
        json={"subject": "Hi", "text_body": "x"},
        headers=reader,
    )
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    assert r.json()["scope"] == "emails:send"
    sender = await user_token(client, session, user, "contacts:read emails:send")
    r = await client.get("/api/v1/emails", headers=sender)
    assert r.status_code == 403 and r.json()["scope"] == "emails:read"
    r = await client.post("/api/v1/emails", json={"subject": "x", "text_body": "y", "to": "a@b.c"})
    assert r.status_code == 401
    count = await session.scalar(
        select(func.count()).select_from(EmailMessage).where(EmailMessage.sent_by == user.id)
    )
    assert count == 0


async def test_an_address_that_cannot_be_sent_fails_the_email(
    client, session, rep, smtp_server, run_jobs
):
    _, h = rep
    contact = await _contact(client, h)
    # Written past the API's validation (an import, an old row): the header would be injected.
    await session.execute(
        Contact.__table__.update()
        .where(Contact.id == uuid.UUID(contact["id"]))
        .values(email="ada@acme.example\r\nBcc: evil@example.com")
    )
    sent = await post_ok(
        client, h, f"contacts/{contact['id']}/emails", {"subject": "Hi", "text_body": "x"}, 202
    )
    await run_jobs()
    assert smtp_server.inbox.raw == []
    email = (await client.get(f"/api/v1/emails/{sent['id']}", headers=h)).json()
    assert email["status"] == "failed" and email["error"].startswith("Cannot build the message")
