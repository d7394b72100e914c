"""Closing a case emails a signed survey link; the answer is recorded once."""

import re
import uuid

from sqlalchemy import select

from app import jobs
from app.kit import clock, db
from app.models import Case, DomainEvent, EmailMessage
from app.satisfaction.service import TASK
from tests.portal.conftest import post


async def _drain(session, settings):
    await session.flush()
    return await jobs.drain(db.savepoint_factory(session.bind), settings=settings)


async def _surveys(session, case_id) -> list[str]:
    rows = (
        await session.scalars(
            select(EmailMessage)
            .where(EmailMessage.related_type == "case", EmailMessage.related_id == case_id)
            .order_by(EmailMessage.created_at)
        )
    ).all()
    return [re.search(r"/s/csat/(\S+)", m.text_body).group(1) for m in rows]


async def test_survey_sent_on_close_and_answered_once(client, session, settings, world):
    mine = await post(client, world.a.h, "/api/v1/portal/cases", {"subject": "Broken"})
    cid = uuid.UUID(mine["id"])
    await post(client, world.gh, f"/api/v1/cases/{cid}/close", {}, 200)
    await _drain(session, settings)
    (token,) = await _surveys(session, cid)
    msg = await session.scalar(select(EmailMessage).where(EmailMessage.related_id == cid))
    assert msg.to_address == "alice@acme.example"
    r = await client.get(f"/s/csat/{token}")
    assert r.status_code == 200 and r.json()["answered"] is False
    r = await client.get(f"/s/csat/{token}", headers={"Accept": "text/html"})
    assert r.status_code == 200 and "<form" in r.text
    for bad in ({"score": 0}, {"score": 6}, {"score": "x"}, {}, {"score": 3, "extra": 1}):
        r = await client.post(f"/s/csat/{token}", json=bad)
        assert r.status_code == 422, bad
    r = await client.post(
        f"/s/csat/{token}", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    r = await client.post(f"/s/csat/{token}", json={"score": 4, "comment": "Quick fix"})
    assert r.status_code == 200, r.text
    row = await session.get(Case, cid, populate_existing=True)
    assert (row.satisfaction_score, row.satisfaction_comment) == (4, "Quick fix")
    assert row.satisfaction_at is not None
    r = await client.post(f"/s/csat/{token}", json={"score": 1})
    assert r.status_code == 409 and r.json()["code"] == "already_answered"
    assert (await session.get(Case, cid, populate_existing=True)).satisfaction_score == 4
    r = await client.get(f"/api/v1/cases/{cid}/history", headers=world.gh)
    assert "satisfaction_score" in {e["field"] for e in r.json()["data"]}
    r = await client.get(f"/api/v1/portal/cases/{cid}", headers=world.a.h)
    assert r.json()["satisfaction_score"] == 4
    event = await session.scalar(
        select(DomainEvent).where(
            DomainEvent.record_id == cid, DomainEvent.event_type == "case.satisfaction_recorded"
        )
    )
    assert event is not None
    # Reopened and closed again: no new survey, it was answered.
    await post(client, world.gh, f"/api/v1/cases/{cid}/reopen", {}, 200)
    await post(client, world.gh, f"/api/v1/cases/{cid}/close", {}, 200)
    await _drain(session, settings)
    assert len(await _surveys(session, cid)) == 1


async def test_tampered_and_expired_links(client, session, settings, world):
    mine = await post(client, world.a.h, "/api/v1/portal/cases", {"subject": "Broken"})
    cid = uuid.UUID(mine["id"])
    await post(client, world.a.h, f"/api/v1/portal/cases/{cid}/close", {}, 200)
    await _drain(session, settings)
    (token,) = await _surveys(session, cid)
    case_hex, expires, sig = token.split(".")
    other = uuid.uuid4().hex
    for bad in (
        f"{other}.{expires}.{sig}",
        f"{case_hex}.{int(expires) + 999999}.{sig}",
        f"{case_hex}.{expires}.{sig[:-2]}xx",
        "garbage",
        "a.b.c",
    ):
        for r in (
            await client.get(f"/s/csat/{bad}"),
            await client.post(f"/s/csat/{bad}", json={"score": 5}),
        ):
            assert r.status_code == 400 and r.json()["code"] == "invalid_link", bad
            assert "location" not in r.headers
    clock.advance(days=15)
    r = await client.post(f"/s/csat/{token}", json={"score": 5})
    assert r.status_code == 410 and r.json()["code"] == "link_expired"
    assert (await session.get(Case, cid, populate_existing=True)).satisfaction_at is None


async def test_every_close_path_queues_a_survey_once_per_unanswered_close(
    client, session, settings, world
):
    mine = await post(client, world.a.h, "/api/v1/portal/cases", {"subject": "Broken"})
    cid = uuid.UUID(mine["id"])
    # A PATCH to a closed status is a close too.
    r = await client.patch(f"/api/v1/cases/{cid}", json={"status": "Closed"}, headers=world.gh)
    assert r.status_code == 200, r.text
    await _drain(session, settings)
    assert len(await _surveys(session, cid)) == 1
    # Reopened and closed again while unanswered: a new survey.
    await post(client, world.a.h, f"/api/v1/portal/cases/{cid}/reopen", {}, 200)
    await post(client, world.a.h, f"/api/v1/portal/cases/{cid}/close", {}, 200)
    await _drain(session, settings)
    tokens = await _surveys(session, cid)
    assert len(tokens) == 2
    # Either link answers it, once.
    r = await client.post(f"/s/csat/{tokens[0]}", json={"score": 5})
    assert r.status_code == 200
    r = await client.post(f"/s/csat/{tokens[1]}", json={"score": 2})
    assert r.status_code == 409
    # An open case gets no survey.
    other = await post(client, world.a.h, "/api/v1/portal/cases", {"subject": "Open"})
    await _drain(session, settings)
    assert await _surveys(session, uuid.UUID(other["id"])) == []
    assert TASK == "satisfaction.send_survey"


async def test_concurrent_answers_count_once(committed_app, engine, settings):
    import asyncio
    from datetime import timedelta

    from app.email.tracking import signing_key
    from app.satisfaction.service import make_token
    from tests.factories import bearer, make_client, make_user, token

    _app, client = committed_app
    factory = db.make_sessionmaker(engine)
    async with factory() as s:
        agent = await make_user(s, name="Agent")
        c, secret = await make_client(s, "cases:read cases:write", user=agent)
        await s.commit()
    h = bearer(await token(client, c, secret))
    case = await post(client, h, "/api/v1/cases", {"subject": "Race"})
    await post(client, h, f"/api/v1/cases/{case['id']}/close", {}, 200)
    async with factory() as s:
        key = await signing_key(s, settings)
    link = make_token(key, uuid.UUID(case["id"]), clock.now() + timedelta(days=1))
    results = await asyncio.gather(
        *(client.post(f"/s/csat/{link}", json={"score": n}) for n in (1, 2, 3, 4))
    )
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409]
