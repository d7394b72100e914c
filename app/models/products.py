"""The catalogue: products, price books and the prices of products in price books."""

import uuid
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, OwnedMixin, RecordMixin


class Product(RecordMixin, OwnedMixin, Base):
    __tablename__ = "products"

    name: Mapped[str] = mapped_column(String(255))
    product_code: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    family: Mapped[str | None] = mapped_column(String(40))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    quantity_unit_of_measure: Mapped[str | None] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        Index("ix_products_name", "name"),
        Index("ix_products_product_code", "product_code"),
        Index("ix_products_family", "family"),
        Index("ix_products_created_at", "created_at"),
        Index("ix_products_updated_at", "updated_at"),
        Index(
            "uq_products_external_id",
            "external_id",
            unique=True,
            postgresql_where="external_id IS NOT NULL",
        ),
    )


class PriceBook(RecordMixin, OwnedMixin, Base):
    __tablename__ = "price_books"

    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    is_standard: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Partner price books: partners whose tier is listed read the book and its entries (so
    # they can price the opportunities they work). Empty: internal only.
    partner_tiers: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), default=list, server_default="{}"
    )

    __table_args__ = (
        Index("ix_price_books_name", "name"),
        Index("ix_price_books_created_at", "created_at"),
        Index("ix_price_books_updated_at", "updated_at"),
        # At most one live standard price book.
        Index(
            "uq_price_books_standard",
            "is_standard",
            unique=True,
            postgresql_where="is_standard AND deleted_at IS NULL",
        ),
    )


class PriceBookEntry(RecordMixin, OwnedMixin, Base):
    __tablename__ = "price_book_entries"

    price_book_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("price_books.id", ondelete="RESTRICT"), index=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency_code: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")

    __table_args__ = (
        Index("ix_price_book_entries_unit_price", "unit_price"),
        Index("ix_price_book_entries_created_at", "created_at"),
        Index("ix_price_book_entries_updated_at", "updated_at"),
        Index(
            "uq_price_book_entries_book_product_currency",
            "price_book_id",
            "product_id",
            "currency_code",
            unique=True,
            postgresql_where="deleted_at IS NULL",
        ),
    )
