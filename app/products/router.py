"""The catalogue over HTTP: the standard operations of products, price books and entries."""

from app.kit.resource import build_router
from app.products.repository import entries, price_books, products

products_router = build_router(products)
price_books_router = build_router(price_books)
entries_router = build_router(entries)
