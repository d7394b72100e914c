"""Response bodies of records written straight from their rows with orjson.

Validating each row into its output model only to serialise it again is skipped where it can
be (docs/PERFORMANCE.md, "List"). For an output model whose every field orjson writes exactly as
pydantic does (plain scalars; no validators, serializers or aliases), :func:`plain_fields` says
so, and the resource machinery writes the rows' values of those fields directly; any other model,
or a row that lacks one of its fields, goes through pydantic as before.
``tests/kit/test_output.py`` compares both writers on every object.
"""

import types
import typing
import uuid
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal

import orjson
from asyncpg.pgproto.pgproto import UUID as _PG_UUID
from pydantic import BaseModel, EmailStr

_SCALARS = (str, int, bool, uuid.UUID, datetime, date, Decimal)
_OPTIONS = orjson.OPT_UTC_Z


def _plain(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _plain(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return all(a is type(None) or _plain(a) for a in typing.get_args(annotation))
    if origin is Literal:
        return all(isinstance(v, str) for v in typing.get_args(annotation))
    if origin is dict:
        key, value = typing.get_args(annotation)
        return key is str and _plain(value)
    if annotation is EmailStr:
        return True
    return annotation in _SCALARS


@cache
def plain_fields(model: type[BaseModel]) -> tuple[str, ...] | None:
    """The model's fields, if orjson writes every one of them as pydantic would; else None."""
    decorators = model.__pydantic_decorators__
    if (
        decorators.validators
        or decorators.field_validators
        or decorators.root_validators
        or decorators.model_validators
        or decorators.field_serializers
        or decorators.model_serializers
        or decorators.computed_fields
    ):
        return None
    fields = model.model_fields
    for info in fields.values():
        if info.alias or info.serialization_alias or info.exclude:
            return None
        if not _plain(info.annotation):
            return None
    return tuple(fields)


def _default(value: Any) -> Any:
    # asyncpg's own UUID type is a subclass, which orjson does not write by itself (four of
    # them in a lead: tested first, by exact type).
    if type(value) is _PG_UUID or isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError


def to_json(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=_OPTIONS)
