"""``sort=-created_at,name`` on an allow-list, the primary key always last as tiebreaker, and the
keyset predicate that continues after a cursor. NULLs sort last in both directions."""

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_
from sqlalchemy.orm import InstrumentedAttribute

from app.kit.errors import BadRequest
from app.kit.filtering import coerce

SortKey = tuple[str, InstrumentedAttribute, bool]  # (name, column, descending)


def parse(sort: str | None, fields: dict[str, InstrumentedAttribute], pk) -> list[SortKey]:
    keys: list[SortKey] = []
    for part in (sort or "").split(","):
        part = part.strip()
        if not part:
            continue
        desc = part.startswith("-")
        name = part.lstrip("-+")
        if name not in fields:
            raise BadRequest(
                f"Cannot sort by '{name}'; sortable fields: {', '.join(sorted(fields))}",
                code="invalid_sort",
            )
        keys.append((name, fields[name], desc))
    if not any(name == "id" for name, _, _ in keys):
        keys.append(("id", pk, keys[-1][2] if keys else False))
    return keys


def order(stmt: Select, keys: list[SortKey]) -> Select:
    return stmt.order_by(
        *[(col.desc() if desc else col.asc()).nulls_last() for _, col, desc in keys]
    )


def _after(col, desc: bool, value: Any) -> ColumnElement[bool]:
    if value is None:
        return false()  # nulls are last: nothing but more nulls follows
    return or_(col < value if desc else col > value, col.is_(None))


def _equal(col, value: Any) -> ColumnElement[bool]:
    return col.is_(None) if value is None else col == value


def after_cursor(keys: list[SortKey], values: list, bind: Any = None) -> ColumnElement[bool]:
    """Rows after the cursor's ``values``. With ``bind`` (a ``filtering.Binder``) the values
    become bind parameters; which of them are null is part of the statement's shape."""
    if len(values) != len(keys):
        raise BadRequest("The cursor does not match this sort", code="invalid_cursor")
    typed = [
        None if v is None else coerce(col, name, str(v))
        for (name, col, _), v in zip(keys, values, strict=True)
    ]
    if bind is not None:
        bind.shape.append(("cursor", *(v is None for v in typed)))
        if bind.dry:  # the values and the shape only (filtering.Binder)
            for v in typed:
                if v is not None:
                    bind.record(v)
            return None  # type: ignore[return-value]
        typed = [
            None if v is None else bind(v, col) for (_, col, _), v in zip(keys, typed, strict=True)
        ]
    ors = []
    for i, (_, col, desc) in enumerate(keys):
        eqs = [_equal(keys[j][1], typed[j]) for j in range(i)]
        ors.append(and_(*eqs, _after(col, desc, typed[i])))
    return or_(*ors)


def cursor_values(row: Any, keys: list[SortKey]) -> list:
    out = []
    for name, _, _ in keys:
        v = row[name] if hasattr(row, "keys") else getattr(row, name)  # dict or Record; ORM
        out.append(v.isoformat() if hasattr(v, "isoformat") else v if v is None else str(v))
    return out
