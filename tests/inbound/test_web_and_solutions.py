"""Web-to-case (public form, spam defences) and solutions on cases."""

import uuid

from sqlalchemy import func, select

from app.kit import clock
from app.models import Case
from tests.inbound.conftest import deliver, mail

FORM = {"name": "Web Customer", "email": "web@customer.example", "subject": "Modem blinks red"}


async def _count(session):
    return await session.scalar(select(func.count()).select_from(Case))


async def _token(client) -> str:
    r = await client.get("/api/v1/web-to-case/form-token")
    assert r.status_code == 200
    return r.json()["token"]


async def test_web_form_creates_a_web_case_after_the_minimum_fill_time(client, session, world):
    tok = await _token(client)
    before = await _count(session)
    r = await client.post("/api/v1/web-to-case", json={**FORM, "form_token": tok})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "too_fast"
    clock.advance(seconds=5)
    r = await client.post(
        "/api/v1/web-to-case", json={**FORM, "form_token": tok, "priority": "High"}
    )
    assert r.status_code == 201, r.text
    number = r.json()["case_number"]
    row = await session.scalar(select(Case).where(Case.case_number == number))
    assert row.origin == "Web" and row.supplied_email == "web@customer.example"
    assert row.priority == "High" and row.owner_id == world.admin.id
    assert await _count(session) == before + 1


async def test_html_form_post_and_bad_tokens(client, session, world):
    tok = await _token(client)
    clock.advance(seconds=5)
    form = {**FORM, "form_token": tok, "description": "Since Monday", "website": ""}
    r = await client.post("/api/v1/web-to-case", data=form)
    assert r.status_code == 201, r.text
    before = await _count(session)
    for bad in ("nonsense", tok[:-2] + "xx", "123.abc"):
        r = await client.post("/api/v1/web-to-case", json={**FORM, "form_token": bad})
        assert r.status_code == 422 and r.json()["errors"][0]["code"] == "invalid"
    clock.advance(days=2)
    r = await client.post("/api/v1/web-to-case", json={**FORM, "form_token": tok})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "expired"
    for body in ({"form_token": tok}, {**FORM, "email": "nope", "form_token": tok}):
        r = await client.post("/api/v1/web-to-case", json=body)
        assert r.status_code == 422
    r = await client.post(
        "/api/v1/web-to-case", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    r = await client.post(
        "/api/v1/web-to-case", content=b"x" * 70000, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert await _count(session) == before


async def test_honeypot_answers_ok_and_creates_nothing(client, session, world):
    before = await _count(session)
    r = await client.post(
        "/api/v1/web-to-case", json={**FORM, "form_token": "x", "website": "http://spam"}
    )
    assert r.status_code == 201 and r.json()["case_number"] is None
    assert await _count(session) == before


async def test_rate_limit_per_email(app, client, session, world):
    tok = await _token(client)
    clock.advance(seconds=5)
    limit = app.state.settings.web_to_case_per_email_per_hour
    for _ in range(limit):
        r = await client.post("/api/v1/web-to-case", json={**FORM, "form_token": tok})
        assert r.status_code == 201, r.text
    before = await _count(session)
    r = await client.post("/api/v1/web-to-case", json={**FORM, "form_token": tok})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert await _count(session) == before
    other = {**FORM, "email": "other@customer.example", "form_token": tok}
    assert (await client.post("/api/v1/web-to-case", json=other)).status_code == 201


async def test_origin_allow_list(app, client, world):
    tok = await _token(client)
    clock.advance(seconds=5)
    app.state.settings.web_to_case_allowed_origins = ["https://www.vendor.example"]
    try:
        body = {**FORM, "form_token": tok}
        r = await client.post(
            "/api/v1/web-to-case", json=body, headers={"Origin": "https://evil.example"}
        )
        assert r.status_code == 403 and r.json()["code"] == "origin_not_allowed"
        r = await client.post(
            "/api/v1/web-to-case", json=body, headers={"Origin": "https://www.vendor.example"}
        )
        assert r.status_code == 201
    finally:
        app.state.settings.web_to_case_allowed_origins = []


async def _published(client, h, title, body, public=True) -> dict:
    r = await client.post(
        "/api/v1/solutions", json={"title": title, "body": body, "is_public": public}, headers=h
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/solutions/{r.json()['id']}/publish", headers=h)
    assert r.status_code == 200, r.text
    return r.json()


async def test_case_creation_suggests_solutions(client, world):
    sol = await _published(client, world.ah, "Modem blinks red", "Restart the modem router.")
    hidden = await _published(client, world.ah, "Modem internals", "modem router", public=False)
    r = await client.post("/api/v1/cases", json={"subject": "My modem blinks"}, headers=world.ah)
    assert r.status_code == 201, r.text
    got = {s["id"] for s in r.json()["suggested_solutions"]}
    assert sol["id"] in got and hidden["id"] in got  # an agent sees internal solutions too
    out = await deliver(client, world, mail(subject="modem blinks red", body="help"))
    got = {s["id"] for s in out["suggested_solutions"]}
    assert sol["id"] in got and hidden["id"] not in got  # the customer: public ones only


async def test_solutions_used_on_cases_count_once_per_case(client, world):
    sol = await _published(client, world.ah, "Reset", "Hold the button.")
    c1 = (await client.post("/api/v1/cases", json={"subject": "a"}, headers=world.ah)).json()
    c2 = (await client.post("/api/v1/cases", json={"subject": "b"}, headers=world.ah)).json()
    body = {"solution_id": sol["id"]}
    r = await client.post(f"/api/v1/cases/{c1['id']}/solutions", json=body, headers=world.ah)
    assert r.status_code == 201 and r.json()["times_used"] == 1
    r = await client.post(f"/api/v1/cases/{c1['id']}/solutions", json=body, headers=world.ah)
    assert r.status_code == 200 and r.json()["times_used"] == 1
    r = await client.post(f"/api/v1/cases/{c2['id']}/solutions", json=body, headers=world.ah)
    assert r.json()["times_used"] == 2
    other = await _published(client, world.ah, "Unused", "nothing")
    r = await client.get("/api/v1/solutions?sort=-times_used", headers=world.ah)
    ids = [s["id"] for s in r.json()["data"]]
    assert ids.index(sol["id"]) < ids.index(other["id"])  # Most Used Solutions
    r = await client.get(f"/api/v1/cases/{c1['id']}/solutions", headers=world.ah)
    assert [s["solution_id"] for s in r.json()["data"]] == [sol["id"]]
    r = await client.delete(f"/api/v1/cases/{c1['id']}/solutions/{sol['id']}", headers=world.ah)
    assert r.status_code == 204
    r = await client.delete(f"/api/v1/cases/{c1['id']}/solutions/{sol['id']}", headers=world.ah)
    assert r.status_code == 404
    r = await client.get(f"/api/v1/solutions/{sol['id']}", headers=world.ah)
    assert r.json()["times_used"] == 1
    bad = {"solution_id": str(uuid.uuid4())}
    r = await client.post(f"/api/v1/cases/{c1['id']}/solutions", json=bad, headers=world.ah)
    assert r.status_code == 422
    r = await client.post(f"/api/v1/cases/{uuid.uuid4()}/solutions", json=body, headers=world.ah)
    assert r.status_code == 404
    r = await client.post(f"/api/v1/cases/{c1['id']}/solutions", json=body, headers=world.gw)
    assert r.status_code == 403
