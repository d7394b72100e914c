"""Keyset pagination with an opaque cursor. Lists never COUNT and never OFFSET."""

import base64
import uuid
from typing import Annotated, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from app.kit.errors import BadRequest

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int
    cursor: str | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (max 200)")] = (
        DEFAULT_LIMIT
    ),
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values, default=str)).decode().rstrip("=")


def decode_cursor(cursor: str) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise BadRequest("The cursor is not valid", code="invalid_cursor") from exc
    if not isinstance(values, list):
        raise BadRequest("The cursor is not valid", code="invalid_cursor")
    return values


def by_id(stmt: Select, id_column: InstrumentedAttribute, params: PageParams) -> Select:
    """Page ``stmt`` in id order (ids are time-ordered UUIDv7, so this is creation order)."""
    if params.cursor:
        values = decode_cursor(params.cursor)
        try:
            after = uuid.UUID(str(values[0]))
        except (ValueError, IndexError) as exc:
            raise BadRequest("The cursor is not valid", code="invalid_cursor") from exc
        stmt = stmt.where(id_column > after)
    return stmt.order_by(id_column).limit(params.limit + 1)


def page_of(rows: list, params: PageParams, key=lambda r: [r.id]) -> tuple[list, str | None]:
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        return rows, encode_cursor(key(rows[-1]))
    return rows, None
