"""``?field=value`` and ``?field[op]=value`` filters, checked against an allow-list of fields.
Unknown fields or operators are a 400, never silently ignored."""

import operator
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, or_
from sqlalchemy.orm import InstrumentedAttribute

from app.kit.errors import BadRequest

_COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "is_null")
# ``name`` or a dotted ``custom_fields.name``, then an optional ``[op]``.
_KEY = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)(?:\[([a-z_]+)\])?$")


def _bad(field: str, message: str) -> BadRequest:
    return BadRequest(
        message,
        code="invalid_filter",
        errors=[{"field": field, "code": "invalid_filter", "message": message}],
    )


def coerce(column: InstrumentedAttribute, field: str, raw: str) -> Any:
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = str
    try:
        if kind is bool:
            if raw.lower() not in ("true", "false"):
                raise ValueError
            return raw.lower() == "true"
        if kind is datetime:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if value.tzinfo is None:
                raise ValueError
            return value
        if kind is date:
            return date.fromisoformat(raw)
        if kind is Decimal:
            value = Decimal(raw)
            if not value.is_finite():
                raise ValueError
            return value
        if kind is int:
            return int(raw)
        if kind is uuid.UUID:
            return uuid.UUID(raw)
    except (ValueError, InvalidOperation) as exc:
        raise _bad(field, f"'{raw}' is not a valid value for {field}") from exc
    return raw


class Binder:
    """Turns the values of a query into named bind parameters and records the query's shape, so
    that queries differing only in their values share one prepared statement.

    A ``dry`` binder records the values and the shape only: :func:`build` and
    ``sorting.after_cursor`` then check and coerce the query but build no SQL (the statement of
    a shape already seen is reused, not built again). Bound
    again with a new binder, the same query gives the same names to the same values."""

    def __init__(self, *, dry: bool = False) -> None:
        self.values: dict[str, Any] = {}
        self.shape: list = []
        self.dry = dry

    def __call__(self, value: Any, column: Any = None) -> BindParameter:
        name = f"flt_{len(self.values)}"
        self.values[name] = value
        return bindparam(name, value, type_=getattr(column, "type", None))

    def record(self, value: Any) -> None:
        """As a call, when dry: the value takes its name, and no parameter is made."""
        self.values[f"flt_{len(self.values)}"] = value


def _as_is(value: Any, column: Any = None) -> Any:
    return value


def build(
    params: list[tuple[str, str]],
    fields: dict[str, InstrumentedAttribute],
    reserved: set[str],
    equals: dict[str, Callable[[Any], ColumnElement[bool]]] | None = None,
    bind: Binder | None = None,
) -> ColumnElement[bool] | None:
    """``fields`` maps names to columns or typed expressions; ``equals`` optionally gives a
    field its own equality test (used by eq and in), e.g. JSONB containment for custom fields.
    With ``bind``, values become bind parameters and the shape of the filters is recorded."""
    equals = equals or {}
    b = bind or _as_is
    shape = bind.shape if bind is not None else []
    dry = bind is not None and bind.dry
    clauses = []
    for key, raw in params:
        if key in reserved:
            continue
        m = _KEY.match(key)
        if not m or m.group(1) not in fields:
            raise _bad(key, f"Unknown filter field: {key}")
        field, op = m.group(1), m.group(2) or "eq"
        if op not in OPERATORS:
            raise _bad(key, f"Unknown operator '{op}'; use one of {', '.join(OPERATORS)}")
        col = fields[field]
        if op == "is_null":
            flag = coerce(_BOOL, key, raw)
            shape.append((key, flag))
            if not dry:
                clauses.append(col.is_(None) if flag else col.is_not(None))
        elif op == "in":
            values = [coerce(col, key, v) for v in raw.split(",") if v != ""]
            if not values or len(values) > 100:
                raise _bad(key, "in takes 1 to 100 comma-separated values")
            shape.append((key, len(values)))
            if dry:
                for v in values:
                    bind.record(v)  # type: ignore[union-attr]
            elif field in equals:
                clauses.append(or_(*[equals[field](v) for v in values]))
            else:
                clauses.append(col.in_([b(v, col) for v in values]))
        elif op == "contains":
            if coerce_kind(col) is not str:
                raise _bad(key, "contains works on text fields only")
            shape.append((key,))
            if dry:
                bind.record(like_pattern(raw))  # type: ignore[union-attr]
            else:
                clauses.append(col.ilike(b(like_pattern(raw), col), escape="\\"))
        else:
            if op not in ("eq", "ne") and coerce_kind(col) is bool:
                raise _bad(key, f"{field} is true or false: use eq or ne")
            value = coerce(col, key, raw)
            shape.append((key,))
            if dry:
                bind.record(value)  # type: ignore[union-attr]
            elif op == "eq" and field in equals:
                clauses.append(equals[field](value))
            else:
                clauses.append(_COMPARE[op](col, b(value, col)))
    return and_(*clauses) if clauses else None


def like_pattern(text: str) -> str:
    """``%text%`` for ``ILIKE ... ESCAPE '\\'``, with the caller's ``%``, ``_`` and ``\\``
    matched literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def coerce_kind(column: InstrumentedAttribute) -> type:
    try:
        return column.type.python_type
    except NotImplementedError:
        return str


class _BoolColumn:
    class type:
        python_type = bool


_BOOL: Any = _BoolColumn()
