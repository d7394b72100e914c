"""Self-registration: confirm the email, approved by rule or by an administrator; my profile."""

import re
import uuid

from sqlalchemy import delete, func, select

from app import jobs
from app.kit import clock, db
from app.models import Contact, EmailMessage, FieldHistory, PortalRegistration, User, UserKind
from tests.factories import make_client
from tests.portal.conftest import post

PASSWORD = "blue-ocean-42-sailing"


async def _drain(session, settings):
    await session.flush()
    return await jobs.drain(db.savepoint_factory(session.bind), settings=settings)


async def _register(client, email, **kw):
    body = {"email": email, "first_name": "Dana", "last_name": "Doe", "password": PASSWORD, **kw}
    r = await client.post("/api/v1/portal/registrations", json=body)
    return r


async def _link(session, email) -> str:
    msg = await session.scalar(
        select(EmailMessage)
        .where(EmailMessage.to_address == email, EmailMessage.subject.like("Confirm%"))
        .order_by(EmailMessage.created_at.desc())
        .limit(1)
    )
    return re.search(r"/s/portal/verify/(\S+)", msg.text_body).group(1)


async def _sign_in(client, session, email, password=PASSWORD):
    c, secret = await make_client(session, "cases:read contacts:read", grant_types=["password"])
    return await client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": email, "password": password},
        auth=(c.client_id, secret),
    )


async def test_registration_approved_by_website_rule(client, session, world):
    acct = await post(
        client,
        world.ah,
        "/api/v1/accounts",
        {"name": "Initech", "website": "https://www.initech.example/en"},
    )
    r = await _register(client, "Dana@Initech.example")
    assert r.status_code == 202 and r.json()["status"] == "received"
    reg = await session.scalar(
        select(PortalRegistration).where(PortalRegistration.email == "dana@initech.example")
    )
    assert reg.status == "unverified"
    # Not a user until the email is confirmed.
    assert (await _sign_in(client, session, "dana@initech.example")).status_code != 200
    r = await client.get(f"/s/portal/verify/{await _link(session, 'dana@initech.example')}")
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    await session.refresh(reg)
    assert reg.approved_by == "website_domain" and str(reg.account_id) == acct["id"]
    user = await session.get(User, reg.user_id)
    contact = await session.get(Contact, user.contact_id)
    assert user.kind == UserKind.portal and str(contact.account_id) == acct["id"]
    assert contact.email == "dana@initech.example"
    r = await _sign_in(client, session, "dana@initech.example")
    assert r.status_code == 200, r.text
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    me = await client.get("/api/v1/portal/me", headers=h)
    assert me.status_code == 200 and me.json()["account_id"] == acct["id"]
    # Following the link again is harmless.
    r = await client.get(f"/s/portal/verify/{await _link(session, 'dana@initech.example')}")
    assert r.status_code == 200 and r.json()["status"] == "approved"


async def test_registration_links_an_existing_contact_through_an_allowed_domain(
    client, session, world
):
    acct = await post(client, world.ah, "/api/v1/accounts", {"name": "Umbrella"})
    existing = await post(
        client,
        world.ah,
        "/api/v1/contacts",
        {"last_name": "Doe", "email": "dana@umbrella.example", "account_id": acct["id"]},
    )
    r = await client.post(
        "/api/v1/portal/registration-domains",
        json={"domain": "Umbrella.Example", "account_id": acct["id"]},
        headers=world.ah,
    )
    assert r.status_code == 201 and r.json()["domain"] == "umbrella.example"
    r = await client.post(
        "/api/v1/portal/registration-domains",
        json={"domain": "umbrella.example", "account_id": acct["id"]},
        headers=world.ah,
    )
    assert r.status_code == 409
    await _register(client, "dana@umbrella.example")
    r = await client.get(f"/s/portal/verify/{await _link(session, 'dana@umbrella.example')}")
    assert r.json()["status"] == "approved"
    reg = await session.scalar(
        select(PortalRegistration).where(PortalRegistration.email == "dana@umbrella.example")
    )
    assert reg.approved_by == "allowed_domain" and str(reg.contact_id) == existing["id"]


async def test_unmatched_registration_waits_for_an_admin(client, session, world):
    await _register(client, "zed@freemail.example")
    r = await client.get(f"/s/portal/verify/{await _link(session, 'zed@freemail.example')}")
    assert r.json()["status"] == "pending"
    r = await client.get(
        "/api/v1/portal/registrations", params={"status": "pending"}, headers=world.ah
    )
    assert r.status_code == 200
    (reg,) = [x for x in r.json()["data"] if x["email"] == "zed@freemail.example"]
    for h in (world.gh, world.a.h, None):
        r = await client.get("/api/v1/portal/registrations", headers=h or {})
        assert r.status_code in (401, 403)
        r = await client.post(
            f"/api/v1/portal/registrations/{reg['id']}/approve", json={}, headers=h or {}
        )
        assert r.status_code in (401, 403)
    r = await client.post(
        f"/api/v1/portal/registrations/{reg['id']}/approve", json={}, headers=world.ah
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "account_id"
    acct = await post(client, world.ah, "/api/v1/accounts", {"name": "Zed Ltd"})
    r = await client.post(
        f"/api/v1/portal/registrations/{reg['id']}/approve",
        json={"account_id": acct["id"]},
        headers=world.ah,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["approved_by"] == "admin"
    assert r.json()["decided_by"] == str(world.admin.id)
    r = await client.post(
        f"/api/v1/portal/registrations/{reg['id']}/reject", json={}, headers=world.ah
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    r = await client.post(
        f"/api/v1/portal/registrations/{uuid.uuid4()}/approve", json={}, headers=world.ah
    )
    assert r.status_code == 404


async def test_rejection_and_duplicates_are_enumeration_safe(client, session, world):
    await _register(client, "eve@nowhere.example")
    await client.get(f"/s/portal/verify/{await _link(session, 'eve@nowhere.example')}")
    reg = await session.scalar(
        select(PortalRegistration).where(PortalRegistration.email == "eve@nowhere.example")
    )
    r = await client.post(
        f"/api/v1/portal/registrations/{reg.id}/reject",
        json={"reason": "Not a customer"},
        headers=world.ah,
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    r = await client.get(f"/s/portal/verify/{await _link(session, 'eve@nowhere.example')}")
    assert r.status_code == 410
    # An existing user's address and a second registration get the same answer as a new one.
    first = await _register(client, "alice@acme.example")
    again = await _register(client, "new@nowhere.example")
    dup = await _register(client, "new@nowhere.example")
    assert first.status_code == again.status_code == dup.status_code == 202
    assert first.json() == again.json() == dup.json()
    count = await session.scalar(
        select(func.count())
        .select_from(PortalRegistration)
        .where(PortalRegistration.email == "new@nowhere.example")
    )
    assert count == 1
    assert not await session.scalar(
        select(PortalRegistration.id).where(PortalRegistration.email == "alice@acme.example")
    )


async def test_bad_registrations(client, session):
    for body in (
        {"email": "x@y.example", "last_name": "X", "password": "short"},
        {"email": "x@y.example", "last_name": "X", "password": "aaaaaaaaaaaa"},
        {"email": "xavier@y.example", "last_name": "X", "password": "xavier-1234567"},
        {"email": "not an email", "last_name": "X", "password": PASSWORD},
        {"email": "x@y.example", "last_name": "X", "password": PASSWORD, "status": "approved"},
    ):
        r = await client.post("/api/v1/portal/registrations", json=body)
        assert r.status_code == 422, (body, r.text)
    assert not await session.scalar(
        select(PortalRegistration.id).where(PortalRegistration.email.like("%y.example"))
    )
    r = await client.get("/s/portal/verify/nonsense")
    assert r.status_code == 400 and r.json()["code"] == "invalid_link"


async def test_verification_link_expires(client, session):
    await _register(client, "late@nowhere.example")
    link = await _link(session, "late@nowhere.example")
    clock.advance(hours=25)
    r = await client.get(f"/s/portal/verify/{link}")
    assert r.status_code == 410 and r.json()["code"] == "link_expired"
    # Registering again after expiry works.
    assert (await _register(client, "late@nowhere.example")).status_code == 202
    assert (
        await client.get(f"/s/portal/verify/{await _link(session, 'late@nowhere.example')}")
    ).status_code == 200


async def test_registration_is_rate_limited_per_email(client, session):
    for _ in range(3):
        assert (await _register(client, "spam@nowhere.example")).status_code == 202
    r = await _register(client, "spam@nowhere.example")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    clock.advance(hours=1, seconds=5)
    assert (await _register(client, "spam@nowhere.example")).status_code == 202


async def test_my_profile(client, session, world):
    h = world.a.h
    r = await client.get("/api/v1/portal/me", headers=h)
    assert r.status_code == 200 and r.json()["contact_id"] == str(world.a.contact.id)
    r = await client.patch(
        "/api/v1/portal/me",
        json={
            "phone": "+1 555 0100",
            "first_name": "Alice",
            "time_zone": "Europe/Berlin",
            "locale": "de_DE",
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "+1 555 0100" and r.json()["time_zone"] == "Europe/Berlin"
    history = (
        await session.scalars(
            select(FieldHistory).where(FieldHistory.record_id == world.a.contact.id)
        )
    ).all()
    assert {(x.field, x.changed_by) for x in history} >= {("phone", world.a.user.id)}
    for body in (
        {"time_zone": "Mars/Olympus"},
        {"last_name": None},
        {"email": "new@x.example"},
        {"new_password": "another-long-secret-1"},
        {"new_password": "another-long-secret-1", "current_password": "wrong"},
    ):
        r = await client.patch("/api/v1/portal/me", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
    user = await session.get(User, world.a.user.id)
    await session.refresh(user)
    assert user.time_zone == "Europe/Berlin"
    r = await client.patch(
        "/api/v1/portal/me",
        json={"current_password": "correct horse battery", "new_password": "another-long-secret-1"},
        headers=h,
    )
    assert r.status_code == 200
    assert (await _sign_in(client, session, user.email, "another-long-secret-1")).status_code == 200
    # Internal users have no portal profile.
    r = await client.get("/api/v1/portal/me", headers=world.ah)
    assert r.status_code == 403
    # A customer cannot change their contact through the generic endpoint.
    r = await client.patch(
        f"/api/v1/contacts/{world.a.contact.id}", json={"last_name": "X"}, headers=h
    )
    assert r.status_code == 403
    r = await client.get(f"/api/v1/contacts/{world.b.contact.id}", headers=h)
    assert r.status_code == 404


async def test_concurrent_approvals_act_once(committed_app, engine, settings):
    import asyncio

    from app.auth.secrets import hash_password
    from tests.factories import bearer, make_user, token

    _app, client = committed_app
    factory = db.make_sessionmaker(engine)
    async with factory() as s:
        admin = await make_user(s, is_admin=True)
        c, secret = await make_client(s, "admin users:write accounts:write", user=admin)
        from app.models import Account

        acct = Account(name="Race Inc", owner_id=admin.id)
        s.add(acct)
        email = f"race-{uuid.uuid4().hex[:6]}@race.example"
        reg = PortalRegistration(
            email=email,
            last_name="Race",
            password_hash=await hash_password(PASSWORD),
            status="pending",
            verify_expires_at=clock.now(),
        )
        s.add(reg)
        await s.commit()
    h = bearer(await token(client, c, secret))
    results = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/portal/registrations/{reg.id}/approve",
                json={"account_id": str(acct.id)},
                headers=h,
            )
            for _ in range(3)
        )
    )
    assert sorted(r.status_code for r in results) == [200, 409, 409]
    async with factory() as s:
        n = await s.scalar(select(func.count()).select_from(User).where(User.email == email))
        assert n == 1
        # Committed rows stay for the rest of the run: leave no email for others to count.
        await s.execute(delete(EmailMessage).where(EmailMessage.to_address == email))
        await s.commit()
