"""The catalogue through the resource machinery: products, price books and price book entries.

Everyone reads the catalogue (public_read); the owner (by default the creator) and the users
above them, and administrators, change it.
"""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing
from app.activities.cascades import activities_of
from app.auth.principal import Principal
from app.kit.errors import Conflict
from app.kit.resource import Cascade, Records, Resource, invalid
from app.models import PriceBook, PriceBookEntry, Product
from app.products import schemas

products_resource = Resource(
    name="products",
    model=Product,
    out=schemas.Product,
    create=schemas.ProductCreate,
    update=schemas.ProductUpdate,
    sharing=Sharing.public_read,
    filterable=(
        "name",
        "product_code",
        "family",
        "is_active",
        "owner_id",
        "external_id",
        "created_at",
        "updated_at",
    ),
    sortable=("name", "product_code", "family", "created_at", "updated_at"),
    searchable=("name", "product_code", "description"),
    label="product",
    required=("name", "is_active"),
    scope_name="products",
    children=(Cascade("price-book-entries", "product_id"), *activities_of("product")),
)
products = Records(products_resource)


async def _one_standard(session: AsyncSession, values: dict[str, Any], existing) -> None:
    if values.get("is_standard") and not (existing is not None and existing.is_standard):
        taken = await session.scalar(
            select(PriceBook.id).where(PriceBook.is_standard, PriceBook.deleted_at.is_(None))
        )
        if taken is not None:
            raise Conflict("There is already a standard price book", code="duplicate_detected")


async def validate_price_book(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing
) -> None:
    await _one_standard(session, values, existing)
    if values.get("partner_tiers") is not None:
        values["partner_tiers"] = sorted({str(t) for t in values["partner_tiers"]})


price_books_resource = Resource(
    name="price-books",
    model=PriceBook,
    out=schemas.PriceBook,
    create=schemas.PriceBookCreate,
    update=schemas.PriceBookUpdate,
    sharing=Sharing.public_read,
    filterable=("name", "is_active", "is_standard", "owner_id", "created_at", "updated_at"),
    sortable=("name", "created_at", "updated_at"),
    searchable=("name",),
    label="price book",
    required=("name", "is_active", "is_standard", "partner_tiers"),
    validate=validate_price_book,
    scope_name="products",
    children=(Cascade("price-book-entries", "price_book_id"),),
)
price_books = Records(price_books_resource)


async def validate_entry(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing
) -> None:
    if existing is not None:
        return  # price book, product and currency cannot change
    if not await price_books.visible_id(session, principal, values["price_book_id"]):
        raise invalid("price_book_id", "not_found", "No such price book")
    if not await products.visible_id(session, principal, values["product_id"]):
        raise invalid("product_id", "not_found", "No such product")
    duplicate = await session.scalar(
        select(PriceBookEntry.id).where(
            PriceBookEntry.price_book_id == values["price_book_id"],
            PriceBookEntry.product_id == values["product_id"],
            PriceBookEntry.currency_code == values["currency_code"],
            PriceBookEntry.deleted_at.is_(None),
        )
    )
    if duplicate is not None:
        raise Conflict(
            "This product already has a price in this price book and currency",
            code="duplicate_detected",
            extra={"existing_id": str(duplicate)},
        )


entries_resource = Resource(
    name="price-book-entries",
    model=PriceBookEntry,
    out=schemas.PriceBookEntry,
    create=schemas.PriceBookEntryCreate,
    update=schemas.PriceBookEntryUpdate,
    sharing=Sharing.public_read,
    filterable=(
        "price_book_id",
        "product_id",
        "currency_code",
        "unit_price",
        "is_active",
        "owner_id",
        "created_at",
        "updated_at",
    ),
    sortable=("unit_price", "created_at", "updated_at"),
    label="price book entry",
    required=("unit_price", "is_active"),
    validate=validate_entry,
    scope_name="products",
)
entries = Records(entries_resource)
