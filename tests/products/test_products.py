"""The catalogue: everyone reads it, a price book holds one price per product and currency."""

import uuid

import pytest

from tests.factories import make_user, post_ok, user_token

SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
SCOPES = "products:read products:write"


@pytest.fixture
async def h(client, session):
    admin = await make_user(session, is_admin=True)
    rep = await make_user(session, role_id=SALES_REP)
    return {
        "admin": await user_token(client, session, admin, SCOPES),
        "rep": await user_token(client, session, rep, SCOPES),
    }


async def test_entry_is_unique_per_book_product_and_currency(client, h):
    book = await post_ok(
        client, h["admin"], "price-books", {"name": "Standard", "is_standard": True}
    )
    product = await post_ok(client, h["admin"], "products", {"name": "Widget"})
    body = {"price_book_id": book["id"], "product_id": product["id"], "unit_price": "19.90"}
    entry = await post_ok(client, h["admin"], "price-book-entries", body)
    assert entry["unit_price"] == "19.90" and entry["currency_code"] == "USD"

    dup = await post_ok(client, h["admin"], "price-book-entries", body, status=409)
    assert dup["code"] == "duplicate_detected" and dup["existing_id"] == entry["id"]
    # Another currency is another price.
    await post_ok(client, h["admin"], "price-book-entries", {**body, "currency_code": "EUR"})
    # Once the entry is in the recycle bin, the product can be priced again.
    r = await client.delete(f"/api/v1/price-book-entries/{entry['id']}", headers=h["admin"])
    assert r.status_code == 204
    await post_ok(client, h["admin"], "price-book-entries", body)


async def test_price_book_entry_fixes_book_and_product(client, h):
    book = await post_ok(client, h["admin"], "price-books", {"name": "EMEA"})
    product = await post_ok(client, h["admin"], "products", {"name": "Widget"})
    body = {"price_book_id": book["id"], "product_id": product["id"], "unit_price": "5.00"}
    entry = await post_ok(client, h["admin"], "price-book-entries", body)
    r = await client.patch(
        f"/api/v1/price-book-entries/{entry['id']}",
        json={"product_id": product["id"]},
        headers=h["admin"],
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "product_id"
    bad = {**body, "product_id": str(uuid.uuid4())}
    err = await post_ok(client, h["admin"], "price-book-entries", bad, status=422)
    assert err["errors"][0]["field"] == "product_id"


async def test_everyone_reads_the_catalogue_only_owners_change_it(client, h):
    product = await post_ok(client, h["admin"], "products", {"name": "Widget"})
    url = f"/api/v1/products/{product['id']}"
    r = await client.get(url, headers=h["rep"])
    assert r.status_code == 200 and r.json()["name"] == "Widget"
    r = await client.patch(url, json={"name": "Gadget"}, headers=h["rep"])
    assert r.status_code == 403


async def test_only_one_standard_price_book(client, h):
    await post_ok(client, h["admin"], "price-books", {"name": "Standard", "is_standard": True})
    err = await post_ok(
        client, h["admin"], "price-books", {"name": "Other", "is_standard": True}, status=409
    )
    assert err["code"] == "duplicate_detected"
