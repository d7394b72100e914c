"""Custom field values on records: what the resource machinery calls.

Values live in each record's ``custom_fields`` JSONB column, keyed by the field's API name. Unset
values are absent (a null in a write removes the key). Stored and returned as:

- text, picklist: JSON strings (an empty string clears the value, as in Salesforce);
- number, currency: JSON strings of the decimal at the field's scale (``"1200.50"``), so values
  round-trip exactly, like every other decimal in the API; writes accept numbers or strings;
- date: ``"YYYY-MM-DD"``; boolean: ``true`` / ``false``.

Definitions are cached per object in the process for ``TTL`` seconds and dropped at once when
this process changes them. Writes that carry ``custom_fields`` read them fresh; a write without
them only needs to know the required fields, and takes them from the cache.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, create_model
from sqlalchemy import Boolean, ColumnElement, Date, Numeric, event, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.customfields.schemas import (
    CustomFieldValues,
    CustomFieldValuesIn,
    custom_fields_in,
    custom_fields_out,
)
from app.kit.errors import ValidationFailed
from app.models import CustomField, CustomFieldType

TTL = 30.0
PREFIX = "custom_fields."


@dataclass(frozen=True)
class Spec:
    """A definition as the value checks need it (no ORM object outlives its session)."""

    name: str
    type: CustomFieldType
    required: bool
    is_active: bool
    choices: frozenset[str]
    max_length: int
    precision: int
    scale: int

    @classmethod
    def of(cls, f: CustomField) -> "Spec":
        return cls(
            name=f.name,
            type=f.type,
            required=f.required,
            is_active=f.is_active,
            choices=frozenset(f.picklist_values or ()),
            max_length=f.max_length or 0,
            precision=f.precision or 0,
            scale=f.scale or 0,
        )


@dataclass(frozen=True)
class Definitions:
    """The live (not deleted) custom fields of one object, in creation order."""

    fields: dict[str, Spec]

    @property
    def required(self) -> list[str]:
        return [s.name for s in self.fields.values() if s.required and s.is_active]

    def present(self, stored: dict[str, Any] | None) -> dict[str, Any]:
        """What a response shows: every field of the object, null when unset; values of deleted
        fields (kept for a restore) stay hidden."""
        stored = stored or {}
        return {name: stored.get(name) for name in self.fields}


EMPTY = Definitions({})
_cache: dict[str, tuple[float, Definitions]] = {}


async def definitions(session: AsyncSession, obj: str, *, fresh: bool = False) -> Definitions:
    hit = _cache.get(obj)
    now = time.monotonic()
    if hit is not None and not fresh and now - hit[0] < TTL:
        return hit[1]
    rows = await session.scalars(
        select(CustomField)
        .where(CustomField.object == obj, CustomField.deleted_at.is_(None))
        .order_by(CustomField.id)
    )
    defs = Definitions({f.name: Spec.of(f) for f in rows})
    _cache[obj] = (now, defs)
    return defs


def invalidate(obj: str | None = None) -> None:
    if obj is None:
        _cache.clear()
    else:
        _cache.pop(obj, None)


def changed(session: AsyncSession, obj: str) -> None:
    """Definitions of ``obj`` changed in this session: drop the cache now, and again when the
    transaction ends (a read in between may have cached the uncommitted state)."""
    invalidate(obj)
    for name in ("after_commit", "after_soft_rollback"):
        event.listen(session.sync_session, name, lambda *_: invalidate(obj), once=True)


# --- checking values ------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message


def _decimal(spec: Spec, raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _Invalid("invalid_type", "must be a number (or a string holding one)")
    try:
        value = Decimal(repr(raw) if isinstance(raw, float) else str(raw).strip())
    except InvalidOperation:
        raise _Invalid("invalid_type", f"'{raw}' is not a number") from None
    if not value.is_finite():
        raise _Invalid("invalid_type", f"'{raw}' is not a number")
    return value


def canonical_decimal(spec: Spec, value: Decimal) -> str | None:
    """The stored form at the field's scale, or None when ``value`` has more decimals."""
    if value.normalize().as_tuple().exponent < -spec.scale:  # type: ignore[operator]
        return None
    quantized = value.quantize(Decimal(1).scaleb(-spec.scale))
    return format(quantized + 0, "f")  # + 0 turns -0 into 0


def clean(spec: Spec, raw: Any) -> Any:
    """The stored form of ``raw`` for this field (None clears it), or raise ``_Invalid``."""
    if raw is None:
        return None
    t = spec.type
    if t in (CustomFieldType.text, CustomFieldType.picklist):
        if not isinstance(raw, str):
            raise _Invalid("invalid_type", "must be a string")
        if raw == "":
            return None
        if t == CustomFieldType.picklist and raw not in spec.choices:
            raise _Invalid(
                "invalid_choice",
                f"'{raw}' is not one of the values: {', '.join(sorted(spec.choices))}",
            )
        if len(raw) > spec.max_length and t == CustomFieldType.text:
            raise _Invalid("too_long", f"must be at most {spec.max_length} characters")
        return raw
    if t == CustomFieldType.boolean:
        if not isinstance(raw, bool):
            raise _Invalid("invalid_type", "must be true or false")
        return raw
    if t == CustomFieldType.date:
        if not isinstance(raw, str):
            raise _Invalid("invalid_type", "must be a date as YYYY-MM-DD")
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise _Invalid("invalid_type", f"'{raw}' is not a date as YYYY-MM-DD") from None
    value = _decimal(spec, raw)
    stored = canonical_decimal(spec, value)
    if stored is None:
        raise _Invalid("too_many_decimals", f"must have at most {spec.scale} decimal places")
    if abs(value) >= Decimal(10) ** (spec.precision - spec.scale):
        raise _Invalid(
            "out_of_range",
            f"must have at most {spec.precision - spec.scale} digits before the decimal point",
        )
    return stored


def _fail(errors: list[dict[str, str]]) -> ValidationFailed:
    detail = (
        errors[0]["message"]
        if len(errors) == 1
        else f"{len(errors)} custom field values are not valid"
    )
    return ValidationFailed(detail, errors=errors)


async def prepare(
    session: AsyncSession,
    obj: str,
    incoming: dict[str, Any] | None,
    current: dict[str, Any] | None,
) -> dict[str, Any]:
    """The record's new ``custom_fields``: ``incoming`` merged into ``current`` (a key set to
    null is removed), checked against the definitions. ``current`` is None for a create, where
    every required field must have a value. Raises a 422 naming ``custom_fields.<name>``."""
    creating = current is None
    merged = dict(current or {})
    if not incoming:
        if creating:
            missing = (await definitions(session, obj)).required
            if missing:
                raise _fail([_required(name) for name in missing])
        return merged
    defs = await definitions(session, obj, fresh=True)
    errors = []
    for name, raw in incoming.items():
        field = PREFIX + name
        spec = defs.fields.get(name)
        if spec is None:
            errors.append(_error(field, "unknown_field", f"{obj} has no custom field '{name}'"))
            continue
        if not spec.is_active:
            errors.append(_error(field, "inactive_field", f"{field} is inactive: read-only"))
            continue
        try:
            value = clean(spec, raw)
        except _Invalid as exc:
            errors.append(_error(field, exc.code, f"{field} {exc.message}"))
            continue
        if value is None:
            merged.pop(name, None)
            if spec.required:
                errors.append(_required(name))
        else:
            merged[name] = value
    if creating:
        errors += [_required(n) for n in defs.required if n not in merged and n not in incoming]
    if errors:
        raise _fail(errors)
    return merged


def _error(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": message}


def _required(name: str) -> dict[str, str]:
    return _error(PREFIX + name, "required", f"{PREFIX}{name} is required")


def diff(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Per-key changes, as field history records them: ``custom_fields.<name>``."""
    old = old or {}
    return {
        PREFIX + k: (old.get(k), new.get(k))
        for k in sorted(old.keys() | new.keys())
        if old.get(k) != new.get(k)
    }


# --- filters --------------------------------------------------------------------------------


async def filters(
    session: AsyncSession, obj: str, model: Any, keys: Iterable[str]
) -> tuple[dict[str, ColumnElement], dict[str, Callable[[Any], ColumnElement[bool]]]]:
    """Filter expressions for the ``custom_fields.<name>`` keys asked for, typed per definition
    (numbers compare as numbers, dates as dates), and equality as JSONB containment, which the
    GIN index serves. Names the object does not define are left out (a 400 from the filter)."""
    names = {k.split("[", 1)[0][len(PREFIX) :] for k in keys if k.startswith(PREFIX)}
    defs = await definitions(session, obj)
    if names - defs.fields.keys():
        defs = await definitions(session, obj, fresh=True)
    column = model.custom_fields
    exprs: dict[str, ColumnElement] = {}
    equals: dict[str, Callable[[Any], ColumnElement[bool]]] = {}
    for name in names & defs.fields.keys():
        spec = defs.fields[name]
        value = column[name]
        if spec.type in (CustomFieldType.number, CustomFieldType.currency):
            expr = value.astext.cast(Numeric)
        elif spec.type == CustomFieldType.date:
            expr = value.astext.cast(Date)
        elif spec.type == CustomFieldType.boolean:
            expr = value.astext.cast(Boolean)
        else:
            expr = value.astext
        exprs[PREFIX + name] = expr
        equals[PREFIX + name] = _contains(column, spec)
    return exprs, equals


def _contains(column, spec: Spec) -> Callable[[Any], ColumnElement[bool]]:
    def equal(value: Any) -> ColumnElement[bool]:
        if isinstance(value, Decimal):
            stored = canonical_decimal(spec, value)
            if stored is None:  # more decimals than the field keeps: nothing can be equal
                return false()
            value = stored
        elif isinstance(value, date):
            value = value.isoformat()
        return column.contains({spec.name: value})

    return equal


# --- schemas --------------------------------------------------------------------------------


def accepting(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` with a ``custom_fields`` input field, unless it declares one. Same name: the
    derived class is the one the routes use, so it is the one in OpenAPI."""
    if "custom_fields" in model.model_fields:
        return model
    return create_model(  # type: ignore[call-overload]
        model.__name__,
        __base__=model,
        __module__=model.__module__,
        __doc__=model.__doc__,
        custom_fields=(CustomFieldValuesIn, custom_fields_in()),
    )


def showing(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` with a ``custom_fields`` output field, unless it declares one."""
    if "custom_fields" in model.model_fields:
        return model
    return create_model(  # type: ignore[call-overload]
        model.__name__,
        __base__=model,
        __module__=model.__module__,
        __doc__=model.__doc__,
        custom_fields=(CustomFieldValues, custom_fields_out()),
    )
