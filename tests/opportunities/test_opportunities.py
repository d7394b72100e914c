"""Opportunities: stage defaults, derived closed/won, stage history; line items: price, total
and access through the opportunity."""

import uuid

import pytest

from app.opportunities.stages import STAGES
from tests.factories import make_user, post_ok, user_token

SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
MARKETING = uuid.UUID("0190f000-0000-7000-8000-000000000004")
SCOPES = "opportunities:read opportunities:write products:read products:write accounts:read"
OPP = {"name": "Big deal", "close_date": "2027-03-31"}


@pytest.fixture
async def h(client, session):
    rep = await make_user(session, role_id=SALES_REP)
    other = await make_user(session, role_id=MARKETING)
    return {
        "rep": await user_token(client, session, rep, SCOPES),
        "other": await user_token(client, session, other, SCOPES),
    }


async def _patch(client, headers, path, body, status=200):
    r = await client.patch(f"/api/v1/{path}", json=body, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


@pytest.mark.parametrize("stage", sorted(STAGES))
async def test_probability_and_forecast_category_default_from_the_stage(client, h, stage):
    opp = await post_ok(client, h["rep"], "opportunities", {**OPP, "stage": stage})
    assert opp["probability"] == STAGES[stage].probability
    assert opp["forecast_category"] == STAGES[stage].forecast_category
    assert opp["is_closed"] is STAGES[stage].is_closed
    assert opp["is_won"] is STAGES[stage].is_won


async def test_default_stage_and_given_values_win(client, h):
    opp = await post_ok(client, h["rep"], "opportunities", OPP)
    assert (opp["stage"], opp["probability"], opp["forecast_category"]) == (
        "Prospecting",
        10,
        "pipeline",
    )
    opp = await post_ok(
        client,
        h["rep"],
        "opportunities",
        {**OPP, "stage": "Negotiation/Review", "probability": 95, "forecast_category": "commit"},
    )
    assert (opp["probability"], opp["forecast_category"]) == (95, "commit")


async def test_unknown_stage_is_422_naming_stage(client, h):
    err = await post_ok(client, h["rep"], "opportunities", {**OPP, "stage": "Dreaming"}, status=422)
    assert err["errors"][0]["field"] == "stage"
    opp = await post_ok(client, h["rep"], "opportunities", OPP)
    err = await _patch(client, h["rep"], f"opportunities/{opp['id']}", {"stage": "X"}, 422)
    assert err["errors"][0]["field"] == "stage"
    err = await _patch(client, h["rep"], f"opportunities/{opp['id']}", {"stage": None}, 422)
    assert err["errors"][0]["field"] == "stage"
    err = await post_ok(client, h["rep"], "opportunities", {**OPP, "probability": 101}, status=422)
    assert err["errors"][0]["field"] == "probability"


async def test_closed_and_won_follow_the_stage_and_are_read_only(client, h):
    opp = await post_ok(client, h["rep"], "opportunities", OPP)
    assert opp["is_closed"] is False and opp["is_won"] is False
    path = f"opportunities/{opp['id']}"
    won = await _patch(client, h["rep"], path, {"stage": "Closed Won"})
    assert won["is_closed"] is True and won["is_won"] is True
    assert (won["probability"], won["forecast_category"]) == (100, "closed")
    lost = await _patch(client, h["rep"], path, {"stage": "Closed Lost"})
    assert lost["is_closed"] is True and lost["is_won"] is False
    reopened = await _patch(client, h["rep"], path, {"stage": "Qualification"})
    assert reopened["is_closed"] is False and reopened["is_won"] is False
    for field in ("is_won", "is_closed"):
        err = await _patch(client, h["rep"], path, {field: True}, 422)
        assert err["errors"][0]["field"] == field
        err = await post_ok(client, h["rep"], "opportunities", {**OPP, field: True}, status=422)
        assert err["errors"][0]["field"] == field


async def test_stage_history_is_written_on_create_and_forecast_changes(client, h):
    opp = await post_ok(client, h["rep"], "opportunities", {**OPP, "amount": "1000.00"})
    path = f"opportunities/{opp['id']}"
    await _patch(client, h["rep"], path, {"stage": "Needs Analysis"})
    await _patch(client, h["rep"], path, {"next_step": "Call"})  # not tracked
    await _patch(client, h["rep"], path, {"amount": "1500.00"})
    await _patch(client, h["rep"], path, {"close_date": "2027-04-30"})
    r = await client.get(f"/api/v1/{path}/stage-history", headers=h["rep"])
    assert r.status_code == 200
    rows = r.json()["data"]
    assert [(x["stage"], x["amount"], x["probability"], x["close_date"]) for x in rows] == [
        ("Prospecting", "1000.00", 10, "2027-03-31"),
        ("Needs Analysis", "1000.00", 20, "2027-03-31"),
        ("Needs Analysis", "1500.00", 20, "2027-03-31"),
        ("Needs Analysis", "1500.00", 20, "2027-04-30"),
    ]
    assert rows[1]["forecast_category"] == "pipeline" and rows[0]["changed_by"] is not None
    page = await client.get(f"/api/v1/{path}/stage-history?limit=3", headers=h["rep"])
    nxt = page.json()["next_cursor"]
    rest = await client.get(f"/api/v1/{path}/stage-history?cursor={nxt}", headers=h["rep"])
    assert [x["id"] for x in page.json()["data"] + rest.json()["data"]] == [x["id"] for x in rows]


async def test_stage_history_of_an_invisible_opportunity_is_404(client, h):
    opp = await post_ok(client, h["rep"], "opportunities", OPP)
    r = await client.get(f"/api/v1/opportunities/{opp['id']}/stage-history", headers=h["other"])
    assert r.status_code == 404
    r = await client.get(f"/api/v1/opportunities/{uuid.uuid4()}/stage-history", headers=h["rep"])
    assert r.status_code == 404


async def _entry(client, headers, price="250.00", **kw):
    book = await post_ok(client, headers, "price-books", {"name": "Book"})
    product = await post_ok(client, headers, "products", {"name": "Widget"})
    body = {"price_book_id": book["id"], "product_id": product["id"], "unit_price": price, **kw}
    return await post_ok(client, headers, "price-book-entries", body)


async def test_line_item_defaults_price_and_derives_product_and_total(client, h):
    opp = await post_ok(client, h["rep"], "opportunities", OPP)
    entry = await _entry(client, h["rep"])
    item = await post_ok(
        client,
        h["rep"],
        "opportunity-line-items",
        {"opportunity_id": opp["id"], "price_book_entry_id": entry["id"], "quantity": "3"},
    )
    assert item["unit_price"] == "250.00" and item["total_price"] == "750.00"
    assert item["product_id"] == entry["product_id"]
    path = f"opportunity-line-items/{item['id']}"
    item = await _patch(client, h["rep"], path, {"discount": "10", "unit_price": "200.00"})
    assert item["total_price"] == "540.00"
    item = await _patch(client, h["rep"], path, {"quantity": "1.5"})
    assert item["total_price"] == "270.00"
    err = await _patch(client, h["rep"], path, {"total_price": "1.00"}, 422)
    assert err["errors"][0]["field"] == "total_price"
    err = await _patch(client, h["rep"], path, {"quantity": "0"}, 422)
    assert err["errors"][0]["field"] == "quantity"
    err = await _patch(client, h["rep"], path, {"unit_price": None}, 422)
    assert err["errors"][0]["field"] == "unit_price"
    err = await _patch(client, h["rep"], path, {"discount": "100.5"}, 422)
    assert err["errors"][0]["field"] == "discount"


async def test_line_item_refuses_an_entry_in_another_currency(client, h):
    opp = await post_ok(client, h["rep"], "opportunities", OPP)
    entry = await _entry(client, h["rep"], currency_code="EUR")
    err = await post_ok(
        client,
        h["rep"],
        "opportunity-line-items",
        {"opportunity_id": opp["id"], "price_book_entry_id": entry["id"], "quantity": "1"},
        status=422,
    )
    assert err["errors"][0]["field"] == "price_book_entry_id"


async def test_line_items_follow_the_opportunity(client, h, session):
    opp = await post_ok(client, h["rep"], "opportunities", OPP)
    entry = await _entry(client, h["rep"])
    body = {"opportunity_id": opp["id"], "price_book_entry_id": entry["id"], "quantity": "1"}
    # Who cannot see the opportunity can neither add to it nor see its items.
    err = await post_ok(client, h["other"], "opportunity-line-items", body, status=422)
    assert err["errors"][0]["field"] == "opportunity_id"
    item = await post_ok(client, h["rep"], "opportunity-line-items", body)
    assert item["owner_id"] == opp["owner_id"]
    url = f"/api/v1/opportunity-line-items/{item['id']}"
    assert (await client.get(url, headers=h["other"])).status_code == 404
    # When the opportunity changes hands, its items follow.
    new_owner = await make_user(session, role_id=MARKETING)
    await _patch(client, h["rep"], f"opportunities/{opp['id']}", {"owner_id": str(new_owner.id)})
    assert (await client.get(url, headers=h["rep"])).status_code == 404
    new_h = await user_token(client, session, new_owner, SCOPES)
    r = await client.get(url, headers=new_h)
    assert r.status_code == 200 and r.json()["owner_id"] == str(new_owner.id)
