"""Mass email: to a campaign's members or a list view, one message per recipient (exactly one
SMTP delivery each), opted-out and address-less recipients skipped and counted, a per-send
limit."""

import uuid

from sqlalchemy import func, insert, select

from app.kit.ids import new_id
from app.models import CampaignMember, Contact, EmailMessage, Lead, Task
from tests.factories import post_ok

TEMPLATE = {
    "name": "Webinar invite",
    "subject": "{{ lead.first_name }}{{ contact.first_name }}, join us",
    "html_body": '<p>Hi {{ lead.company }}</p><a href="https://example.com/webinar">Join</a>',
}


async def _people(session, owner_id, model, n: int, tag: str, **extra) -> list[uuid.UUID]:
    rows = []
    for i in range(n):
        row = {
            "id": new_id(),
            "owner_id": owner_id,
            "first_name": f"P{i}",
            "last_name": f"{tag}-{i}",
            "email": f"{tag}-{i}@mass.example",
            "created_by": owner_id,
            "updated_by": owner_id,
            **extra,
        }
        if model is Lead:
            row["company"] = f"Co {i}"
        rows.append(row)
    if rows:
        await session.execute(insert(model), rows)
    return [r["id"] for r in rows]


async def _members(session, campaign, owner_id, lead_ids=(), contact_ids=()) -> None:
    rows = [
        {
            "id": new_id(),
            "campaign_id": uuid.UUID(campaign["id"]),
            "owner_id": owner_id,
            "lead_id": lid,
            "contact_id": None,
            "created_by": owner_id,
            "updated_by": owner_id,
        }
        for lid in lead_ids
    ] + [
        {
            "id": new_id(),
            "campaign_id": uuid.UUID(campaign["id"]),
            "owner_id": owner_id,
            "lead_id": None,
            "contact_id": cid,
            "created_by": owner_id,
            "updated_by": owner_id,
        }
        for cid in contact_ids
    ]
    await session.execute(insert(CampaignMember), rows)


async def test_mass_email_to_1000_campaign_members_reaches_smtp_exactly_1000_times(
    client, session, rep, smtp_server, run_jobs
):
    user, h = rep
    campaign = await post_ok(client, h, "campaigns", {"name": "Launch"})
    leads = await _people(session, user.id, Lead, 990, "lead")
    contacts = await _people(session, user.id, Contact, 10, "contact")
    opted = await _people(session, user.id, Lead, 7, "opted", has_opted_out_of_email=True)
    no_email = await _people(session, user.id, Contact, 3, "none", email=None)
    await _members(session, campaign, user.id, [*leads, *opted], [*contacts, *no_email])
    template = await post_ok(client, h, "email-templates", TEMPLATE)

    mass = await post_ok(
        client,
        h,
        "mass-emails",
        {"campaign_id": campaign["id"], "template_id": template["id"]},
        202,
    )
    assert mass["recipients"] == 1000
    assert mass["skipped_opted_out"] == 7 and mass["skipped_no_email"] == 3
    assert mass["summary"]["queued"] == 1000 and mass["summary"]["sent"] == 0

    await run_jobs()
    inbox = smtp_server.inbox
    assert len(inbox.raw) == 1000
    recipients = [rcpt for rcpts in inbox.envelopes for rcpt in rcpts]
    assert len(set(recipients)) == 1000
    assert not [r for r in recipients if r.startswith(("opted-", "none-"))]
    # Each merged with its own record.
    by_to = {m["To"].addresses[0].addr_spec: m for m in inbox.messages}
    assert by_to["lead-5@mass.example"]["Subject"] == "P5, join us"
    assert "Hi Co 5" in by_to["lead-5@mass.example"].get_body(("html",)).get_content()
    assert by_to["contact-3@mass.example"]["Subject"] == "P3, join us"

    got = (await client.get(f"/api/v1/mass-emails/{mass['id']}", headers=h)).json()
    assert got["summary"]["sent"] == 1000 and got["summary"]["queued"] == 0
    logged = await session.scalar(
        select(func.count()).select_from(Task).where(Task.subtype == "List Email")
    )
    assert logged == 1000
    # Running the jobs again sends nothing more.
    await run_jobs()
    assert len(inbox.raw) == 1000


async def test_mass_email_over_the_limit_is_422_and_queues_nothing(
    client, session, app, rep, smtp_server, run_jobs
):
    user, h = rep
    app.state.settings = app.state.settings.model_copy(update={"email_mass_limit": 3})
    campaign = await post_ok(client, h, "campaigns", {"name": "Small"})
    await _members(session, campaign, user.id, await _people(session, user.id, Lead, 4, "over"))
    body = {"campaign_id": campaign["id"], "subject": "Hi", "text_body": "x"}
    err = await post_ok(client, h, "mass-emails", body, 422)
    assert err["code"] == "too_many_recipients" and err["limit"] == 3 and err["recipients"] == 4
    # Opted-out recipients do not count against the limit.
    await _members(
        session,
        campaign,
        user.id,
        await _people(session, user.id, Lead, 2, "out", has_opted_out_of_email=True),
    )
    err = await post_ok(
        client,
        h,
        "mass-emails",
        {
            "object_type": "leads",
            "filters": {"email[contains]": "@mass.example"},
            "subject": "Hi",
            "text_body": "x",
        },
        422,
    )
    assert err["code"] == "too_many_recipients"
    await run_jobs()
    assert smtp_server.inbox.messages == []
    mine = select(func.count()).select_from(EmailMessage).where(EmailMessage.sent_by == user.id)
    assert await session.scalar(mine) == 0

    app.state.settings = app.state.settings.model_copy(update={"email_mass_limit": 4})
    mass = await post_ok(client, h, "mass-emails", body, 202)
    assert mass["recipients"] == 4 and mass["skipped_opted_out"] == 2


async def test_mass_email_to_a_list_view(client, session, rep, smtp_server, run_jobs):
    _user, h = rep
    tag = uuid.uuid4().hex[:6]
    for i, status in enumerate(
        ["Working - Contacted", "Working - Contacted", "Open - Not Contacted"]
    ):
        await post_ok(
            client,
            h,
            "leads",
            {
                "last_name": f"L{i}",
                "company": tag,
                "status": status,
                "email": f"{tag}-{i}@list.example",
            },
        )
    await post_ok(
        client,
        h,
        "leads",
        {
            "last_name": "Out",
            "company": tag,
            "status": "Working - Contacted",
            "email": f"{tag}-out@list.example",
            "has_opted_out_of_email": True,
        },
    )
    body = {
        "object_type": "leads",
        "filters": {"company": tag, "status": "Working - Contacted"},
        "subject": "For {{ lead.last_name }}",
        "text_body": "Hello",
    }
    mass = await post_ok(client, h, "mass-emails", body, 202)
    assert mass["recipients"] == 2 and mass["skipped_opted_out"] == 1
    assert mass["filters"] == body["filters"]
    await run_jobs()
    assert sorted(m["Subject"] for m in smtp_server.inbox.messages) == ["For L0", "For L1"]
    emails = await client.get("/api/v1/emails", params={"mass_email_id": mass["id"]}, headers=h)
    assert {e["status"] for e in emails.json()["data"]} == {"sent"}
    listed = await client.get("/api/v1/mass-emails", headers=h)
    assert [m["id"] for m in listed.json()["data"]] == [mass["id"]]
    # Filters are the list endpoint's: an unknown one is a 400.
    err = await post_ok(client, h, "mass-emails", {**body, "filters": {"shoe_size": "9"}}, 400)
    assert err["code"] == "invalid_filter"


async def test_mass_email_goes_only_to_records_the_sender_can_read(
    client, session, rep, other, smtp_server, run_jobs
):
    user, h = rep
    outsider, outsider_h = other
    campaign = await post_ok(client, h, "campaigns", {"name": "Shared"})
    mine = await _people(session, user.id, Lead, 2, "mine")
    theirs = await _people(session, outsider.id, Lead, 3, "theirs")
    await _members(session, campaign, user.id, [*mine, *theirs])
    # The outsider sees the (public read) campaign but only their own leads.
    body = {"campaign_id": campaign["id"], "subject": "Hi", "text_body": "x"}
    mass = await post_ok(client, outsider_h, "mass-emails", body, 202)
    assert mass["recipients"] == 3
    await run_jobs()
    assert sorted(r for rs in smtp_server.inbox.envelopes for r in rs) == [
        f"theirs-{i}@mass.example" for i in range(3)
    ]
    # The mass email is the sender's: others do not see it.
    r = await client.get(f"/api/v1/mass-emails/{mass['id']}", headers=h)
    assert r.status_code == 404


async def test_a_template_failing_for_a_recipient_fails_only_that_email(
    client, session, rep, smtp_server, run_jobs
):
    user, h = rep
    campaign = await post_ok(client, h, "campaigns", {"name": "Sizes"})
    ids = await _people(session, user.id, Lead, 2, "size")
    await session.execute(
        Lead.__table__.update().where(Lead.id == ids[0]).values(first_name="x" * 80)
    )
    await _members(session, campaign, user.id, ids)
    body = {
        "campaign_id": campaign["id"],
        "subject": "Hi",
        # Fine for sample data and for a short name; too long for an 80-character one.
        "text_body": "{{ lead.first_name * (15000 if lead.first_name|length > 50 else 1) }}",
    }
    mass = await post_ok(client, h, "mass-emails", body, 202)
    assert mass["recipients"] == 2 and mass["summary"]["failed"] == 1
    await run_jobs()
    assert len(smtp_server.inbox.messages) == 1
    failed = await client.get(
        "/api/v1/emails", params={"mass_email_id": mass["id"], "status": "failed"}, headers=h
    )
    (email,) = failed.json()["data"]
    assert "longer than" in email["error"]


async def test_mass_email_bad_bodies(client, rep):
    _, h = rep
    campaign = await post_ok(client, h, "campaigns", {"name": "X"})
    for body in (
        {"subject": "Hi", "text_body": "x"},
        {"campaign_id": campaign["id"], "object_type": "leads", "subject": "Hi", "text_body": "x"},
        {"campaign_id": campaign["id"], "filters": {"a": "b"}, "subject": "Hi", "text_body": "x"},
        {"object_type": "leads", "filters": {"limit": "5"}, "subject": "Hi", "text_body": "x"},
        {"object_type": "accounts", "subject": "Hi", "text_body": "x"},
        {"campaign_id": str(uuid.uuid4()), "subject": "Hi", "text_body": "x"},
    ):
        r = await client.post("/api/v1/mass-emails", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
