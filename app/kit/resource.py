"""The one resource machinery. An object declares a :class:`Resource` (model, schemas, which
fields filter and sort, its org-wide default) and gets list / get / create / patch / delete /
restore / history with keyset pagination, filters, ETags, field history, the change feed and
record access, all through the same code path.
"""

import functools
import operator
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Header, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, Text, and_, bindparam, cast, insert, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ColumnProperty

from app.access import (
    Sharing,
    follow_parent,
    is_partner,
    partner_wide,
    read_clause,
    write_clause,
)
from app.access import shapes as access
from app.auth.principal import Principal, PrincipalKind, require
from app.customfields import values as custom_fields
from app.kit import clock, filtering, output, recycle, sorting
from app.kit.db import Prepared, Session, json_loads
from app.kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
    problem_responses,
)
from app.kit.fastpath import lean
from app.kit.ids import new_id
from app.kit.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from app.kit.recycle import Cascade
from app.kit.routing import Router
from app.models import Account, User, UserKind
from app.models.history import Change, FieldHistory
from app.picklists.cache import picklists as picklist_cache

RESERVED = {"limit", "cursor", "sort", "q"}

Hook = Callable[[AsyncSession, Principal, dict[str, Any], Any | None], Awaitable[None]]
# Runs after a create (changes=None) or an update that changed something ({field: (old, new)}),
# in the same transaction: for derived rows such as an opportunity's stage history.
AfterHook = Callable[
    [AsyncSession, Principal, Any, dict[str, tuple[Any, Any]] | None], Awaitable[None]
]


@dataclass
class Resource:
    name: str  # plural kebab-case path segment: "accounts", "price-book-entries"
    model: type
    out: type[BaseModel]
    create: type[BaseModel]
    update: type[BaseModel]
    sharing: Sharing = Sharing.private
    filterable: tuple[str, ...] = ()
    sortable: tuple[str, ...] = ("created_at", "updated_at")
    searchable: tuple[str, ...] = ()
    label: str = "record"
    # Checks references and business rules before a create (existing=None) or an update.
    validate: Hook | None = None
    # Fields that may be left out of a PATCH but never set to null.
    required: tuple[str, ...] = ()
    # The scope family (``<scope>:read`` / ``<scope>:write``); defaults to the resource name.
    scope_name: str | None = None
    after_write: AfterHook | None = None
    # Records deleted and restored with this one (app/kit/recycle.py), by child resource name.
    children: tuple[Cascade, ...] = ()
    # (parent resource name, column) for a record that belongs to a master record: its org-wide
    # default may then be ``controlled_by_parent`` (app/access).
    parent: tuple[str, str] | None = None
    # Picklist fields (app/picklists): a value set on a write must be an active value of the
    # field's picklist (422 invalid_picklist_value); a create that leaves one out gets the
    # picklist's default, if it has one.
    picklists: tuple[str, ...] = ()
    # The vendor's own fields that partners never see: left out of responses, history and the
    # filters and sorts they may use, and refused (422 naming the field) in their bodies.
    internal_fields: tuple[str, ...] = ()
    # The path under /api/v1 when it is not the name (``mdf/budgets`` for ``mdf-budgets``).
    path: str | None = None
    # Raises when a record may not go to the recycle bin in its present state (a workflow
    # record that holds something, e.g. an approved deal registration: 409).
    before_delete: Callable[[Any], None] | None = None
    # The only fields customer portal users see of a record they may read (app/access: e.g.
    # their own cases); every other field is hidden from them as internal fields are from
    # partners. None: no restriction beyond record access.
    portal_fields: tuple[str, ...] | None = None

    @property
    def url(self) -> str:
        return f"/api/v1/{self.path or self.name}"

    @property
    def tag(self) -> str:
        return self.name.replace("-", "_")

    @property
    def object_type(self) -> str:
        return self.tag

    @property
    def scope(self) -> str:
        return self.scope_name or self.tag

    def column(self, name: str):
        return getattr(self.model, name)


REGISTRY: dict[str, Resource] = {}
# The one Records of each resource, by name (made in the domain's repository.py).
RECORDS: dict[str, "Records"] = {}
# session.info key: (resource name, id) of the records created in the session's transaction.
_CREATED = "accord.created"


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def _log_ctes(entries: int, prefix: str = "") -> tuple[Any, Any]:
    """The history rows and the change-feed row of a write, as two data-modifying CTEs whose
    parameters are named ``prefix`` + what :meth:`Records._log_params` names."""
    p = prefix
    history = (
        insert(FieldHistory.__table__)
        .values(
            [
                {
                    "id": bindparam(f"{p}id_{i}"),
                    "object_type": bindparam(f"{p}object_type"),
                    "record_id": bindparam(f"{p}record_id"),
                    "field": bindparam(f"{p}field_{i}"),
                    "old_value": bindparam(f"{p}old_{i}", type_=JSONB),
                    "new_value": bindparam(f"{p}new_{i}", type_=JSONB),
                    "changed_by": bindparam(f"{p}changed_by"),
                    "changed_at": bindparam(f"{p}changed_at"),
                }
                for i in range(entries)
            ]
        )
        .cte(f"{p}history")
    )
    change = insert(Change.__table__).values(
        object_type=bindparam(f"{p}object_type"),
        record_id=bindparam(f"{p}record_id"),
        op=bindparam(f"{p}op"),
        changed_by=bindparam(f"{p}changed_by"),
        changed_at=bindparam(f"{p}changed_at"),
    )
    return history, change


_ENTRIES = "accord.entries"


@lru_cache(maxsize=64)
def _log_statement(entries: int) -> Prepared:
    """History rows and the change-feed row in one statement (a data-modifying CTE): one round
    trip, no ORM objects for rows nobody reads back, and compiled once per number of fields."""
    history, change = _log_ctes(entries)
    # Run on the driver directly: SQLAlchemy does not cache multi-row VALUES statements, so it
    # compiled this one on every write.
    return Prepared(change.add_cte(history))


def invalid(field_name: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        message, errors=[{"field": field_name, "code": code, "message": message}]
    )


@functools.lru_cache(maxsize=256)
def _plain_insert(model, names: tuple[str, ...]):
    """An INSERT of ``model`` taking the attributes ``names``, with the column defaults the ORM
    would apply, returning every column, and with the create's history row and change-feed row
    (:func:`_log_ctes`, parameters named ``log_...``) in the same statement: what ``session.add``
    + ``flush`` + :meth:`Records._log` do, in one round trip and without building the object.
    None where an attribute is not a plain column or the key is not an ``id`` made in Python
    (the ORM path then)."""
    table = model.__table__
    mapper = model.__mapper__
    columns = {}
    for name in names:
        prop = mapper.attrs.get(name)
        if not isinstance(prop, ColumnProperty) or len(prop.columns) != 1:
            return None
        columns[name] = prop.columns[0]
    if any(c.table is not table for c in columns.values()):
        return None
    defaults = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if prop.key in columns or column.table is not table or column.default is None:
            continue
        if not (column.default.is_scalar or column.default.is_callable):
            return None  # a SQL expression default: leave it to the ORM
        defaults[prop.key] = column.default
        columns[prop.key] = column
    key = [c.key for c in table.primary_key.columns]
    if key != ["id"] or "id" not in columns:
        return None
    returned = [prop for prop in mapper.column_attrs if prop.columns[0].table is table]
    history, change = _log_ctes(1, _LOG)
    stmt = Prepared(
        insert(table)
        .values({column.key: bindparam(name) for name, column in columns.items()})
        .returning(*[prop.columns[0] for prop in returned])
        .add_cte(history)
        .add_cte(change.cte(f"{_LOG}change"))
    )

    async def run(session: AsyncSession, values: dict, log: dict, alone: bool) -> dict:
        params = dict(values)
        for name, default in defaults.items():
            params[name] = default.arg if default.is_scalar else default.arg(None)
        params.update(log)
        params[f"{_LOG}record_id"] = params["id"]
        if alone:
            row = await stmt.fetchrow_alone(session, params)
        else:
            row = await stmt.fetchrow_written(session, params)
        return {prop.key: row[i] for i, prop in enumerate(returned)}

    return run


_LOG = "log_"


def _as_text(column: Any) -> Any:
    """A list page's column as the database writes it as text, where that is what the response
    holds: UUIDs (asyncpg's own UUID type is no type orjson writes: each went through a Python
    fallback) and the custom fields (decoded only when the object has some)."""
    if column.name == "custom_fields" or getattr(column.type, "as_uuid", False):
        return cast(column, Text).label(column.name)
    return column


@functools.lru_cache(maxsize=1024)
def _picker(names: tuple) -> Callable[[Any], tuple]:
    if len(names) == 1:
        return lambda row: (row[names[0]],)
    return operator.itemgetter(*names)


class Records:
    """The data operations of one resource; every path applies record access."""

    def __init__(self, resource: Resource) -> None:
        if resource.name in RECORDS:
            raise ValueError(f"{resource.name} has its Records already: use RECORDS[name]")
        REGISTRY[resource.name] = resource
        RECORDS[resource.name] = self
        if resource.parent is not None:
            parent_name, column = resource.parent
            follow_parent(
                resource.model,
                column,
                lambda: (REGISTRY[parent_name].model, REGISTRY[parent_name].sharing),
            )
        # Every object takes and shows its custom fields (app/customfields).
        resource.out = custom_fields.showing(resource.out)
        resource.create = custom_fields.accepting(resource.create)
        resource.update = custom_fields.accepting(resource.update)
        self.r = resource
        self.m = resource.model
        self._statements: dict[tuple, Any] = {}
        self._fields: dict[tuple[str, frozenset[str]], dict[str, Any]] = {}
        # Per set of hidden fields: the output's names shown, all its names, their picker.
        self._plain_plans: dict[frozenset[str], tuple] = {}

    def _statement(self, key: tuple, principal: Principal, build: Callable[[Principal], Any]):
        """A statement built once per kind of principal (ids as bind parameters; execute it with
        ``access.bind_values(principal)``), so the hot paths skip building and cache-keying SQL."""
        full = (key, access.shape(principal))
        stmt = self._statements.get(full)
        if stmt is None:
            if len(self._statements) > 1000:
                self._statements.clear()
            stmt = self._statements[full] = build(access.template(principal))
        return stmt

    def hidden(self, principal: Principal) -> frozenset[str]:
        """Fields the principal may not see (internal fields, for partners; all but the
        portal fields, for customer portal users)."""
        if principal.kind == PrincipalKind.portal_user and self.r.portal_fields is not None:
            return frozenset(self.r.out.model_fields) - frozenset(self.r.portal_fields)
        if self.r.internal_fields and is_partner(principal):
            return frozenset(self.r.internal_fields)
        return frozenset()

    # --- reading ------------------------------------------------------------------------

    def readable(self, principal: Principal, *, deleted: bool = False) -> ColumnElement[bool]:
        """The condition for live (or deleted) records the principal may read: for queries that
        join or count this object's rows rather than select them."""
        bin_ = self.m.deleted_at.is_not(None) if deleted else self.m.deleted_at.is_(None)
        return and_(read_clause(self.m, principal, self.r.sharing), bin_)

    def visible(self, principal: Principal, *, deleted: bool = False, rows: bool = False) -> Select:
        """Live (or deleted) records the principal may read: ORM objects, or with ``rows`` plain
        rows of the table's columns (cheaper; what the read endpoints serialise)."""
        # Columns marked ``info={"unread": True}`` (a search vector) are never read back.
        columns = [c for c in self.m.__table__.columns if not c.info.get("unread")]
        what = select(*columns) if rows else select(self.m)
        return what.where(self.readable(principal, deleted=deleted))

    async def find(
        self,
        session: AsyncSession,
        principal: Principal,
        params: list[tuple[str, str]],
        *,
        limit: int,
        cursor: str | None,
        sort: str | None,
        q: str | None,
        records: bool = False,
    ) -> tuple[list, str | None]:
        """A page of readable rows as dicts (with ``records``, asyncpg records where the list
        runs as a prepared statement: mapping access, no copy), and the next page's cursor."""
        r = self.r
        hidden = self.hidden(principal)
        fields = self._columns("filterable", hidden)
        if q and not r.searchable:
            raise invalid("q", "unsupported", "This object has no text search")
        keys = sorting.parse(sort, self._columns("sortable", hidden), self.m.id)
        decoded = decode_cursor(cursor) if cursor else None
        values = access.bind_values(principal)
        if any(k.startswith(custom_fields.PREFIX) for k, _ in params):
            # Custom-field filters build their own SQL: these lists go through SQLAlchemy.
            more, equals = await custom_fields.filters(
                session, r.name, self.m, (k for k, _ in params)
            )
            stmt = self._find_statement(
                principal, params, {**fields, **more}, equals, None, q, keys, decoded, limit
            )
            result = await session.execute(stmt, values)
            names = tuple(result.keys())
            rows: list = [dict(zip(names, row, strict=True)) for row in result.all()]
        else:
            # Values become bind parameters, so lists that differ only in their values share
            # one prepared statement. A dry pass checks the query and takes its values and
            # shape; the SQL is built only for a shape not seen before.
            dry = filtering.Binder(dry=True)
            self._find_statement(principal, params, fields, None, dry, q, keys, decoded, limit)
            shape = (
                "find",
                tuple(dry.shape),
                tuple(k[:3:2] for k in keys),
                bool(q),
                limit,
                records,
            )

            def prepare(p: Principal) -> Prepared:
                real = filtering.Binder()
                stmt = self._find_statement(
                    principal, params, fields, None, real, q, keys, decoded, limit
                )
                if records:
                    # Records go straight to the response: the output's fields first, in its
                    # order (zipped with its names, with nothing picked), then the sort keys.
                    stmt = stmt.with_only_columns(*self._output_columns(keys))
                if real.values != dry.values:  # a value missed would be bound from the first
                    raise AssertionError(f"dry binding differs: {dry.values} != {real.values}")
                return Prepared(stmt)

            prepared = self._statement(shape, principal, prepare)
            rows = await prepared.fetch(session, {**values, **dry.values})
            if not records:
                rows = [dict(x) for x in rows]
        if len(rows) > limit:
            rows = rows[:limit]
            return rows, encode_cursor(sorting.cursor_values(rows[-1], keys))
        return rows, None

    def _columns(self, kind: str, hidden: frozenset[str]) -> dict[str, Any]:
        """The filterable or sortable fields (and the id) the caller may see, by name (shared:
        not to be changed)."""
        found = self._fields.get((kind, hidden))
        if found is None:
            names = (*getattr(self.r, kind), "id")
            found = self._fields[kind, hidden] = {
                f: self.r.column(f) for f in names if f not in hidden
            }
        return found

    @functools.cached_property
    def _zippable(self) -> bool:
        """Whether rows of the output's fields, in order, can be written as they are: the output
        model is written straight from rows and each of its fields is a column."""
        fields = output.plain_fields(self.r.out)
        names = {c.name for c in self.m.__table__.columns if not c.info.get("unread")}
        return fields is not None and names >= set(fields)

    def _output_columns(self, keys: list) -> list:
        """The columns of a list page: every column, or where the output model is one written
        straight from rows (:func:`output.plain_fields`, all of them columns), its fields in
        order and then the sort keys' columns (for the cursor)."""
        columns = [c for c in self.m.__table__.columns if not c.info.get("unread")]
        if not self._zippable:
            return columns
        fields = output.plain_fields(self.r.out)
        by_name = {c.name: c for c in columns}
        return [_as_text(by_name[f]) for f in fields] + [
            _as_text(by_name[name]) for name, _, _ in keys if name not in fields
        ]

    def _find_statement(self, principal, params, fields, equals, bind, q, keys, cursor, limit):
        """The list's statement; with a dry binder, only the checks and the bound values."""
        where = filtering.build(params, fields, RESERVED, equals, bind)
        pattern = filtering.like_pattern(q) if q else None
        if bind is not None and pattern is not None:
            if bind.dry:
                bind.record(pattern)
            else:
                pattern = bind(pattern)
        after = sorting.after_cursor(keys, cursor, bind) if cursor is not None else None
        if bind is not None and bind.dry:
            return None
        stmt = self._statement(("list",), principal, lambda p: self.visible(p, rows=True))
        if where is not None:
            stmt = stmt.where(where)
        if pattern is not None:
            searchable = self.r.searchable
            stmt = stmt.where(
                or_(*[self.r.column(c).ilike(pattern, escape="\\") for c in searchable])
            )
        if after is not None:
            stmt = stmt.where(after)
        return sorting.order(stmt, keys).limit(limit + 1)

    async def get(
        self, session: AsyncSession, principal: Principal, record_id: uuid.UUID, *, deleted=False
    ) -> Any:
        stmt = self._statement(
            ("get", deleted),
            principal,
            lambda p: self.visible(p, deleted=deleted).where(self.m.id == bindparam("record_id")),
        )
        row = await session.scalar(stmt, {"record_id": record_id, **access.bind_values(principal)})
        if row is None:
            raise NotFound(f"No such {self.r.label}")
        return row

    async def dump(
        self, session: AsyncSession, rows: list, hidden: frozenset[str] = frozenset()
    ) -> list[dict[str, Any]]:
        """``rows`` (ORM objects, column dicts or asyncpg records) as the response objects of
        the API, for :func:`output.to_json`, showing every custom field of the object and none
        of ``hidden``: the one serialiser of records."""
        if not rows:
            return []
        fields = output.plain_fields(self.r.out)
        first = rows[0]
        if not isinstance(first, dict) and not hasattr(first, "keys"):  # ORM objects
            if fields is None or not self._zippable:
                fields = None
            else:
                rows = [{f: getattr(x, f) for f in fields} for x in rows]
        defs = await custom_fields.definitions(session, self.r.name)
        items = self._plain_items(rows, fields, hidden) if fields is not None else None
        if items is None:
            return self._validated_items(rows, defs, hidden)
        if "custom_fields" in fields and "custom_fields" not in hidden:
            if not defs.fields:  # nothing to show, whatever is stored
                for item in items:
                    item["custom_fields"] = {}
            else:
                for item in items:
                    stored = item["custom_fields"]
                    if type(stored) is str:  # a list page's, as text (_as_text)
                        stored = json_loads(stored)
                    item["custom_fields"] = defs.present(stored)
        return items

    def _plain_items(self, rows: list, fields: tuple[str, ...], hidden: frozenset[str]):
        """Rows as dicts of the output's shown fields, for an output model orjson writes as
        pydantic would (app/kit/output.py); None where the rows lack one of its fields."""
        first = rows[0]
        plan = self._plain_plans.get(hidden)
        if plan is None:
            names = tuple(f for f in fields if f not in hidden)
            plan = self._plain_plans[hidden] = (names, frozenset(fields), _picker(names))
        names, wanted, pick = plan
        # Picked and zipped in C. Records whose columns begin with the fields (a list page's:
        # see _output_columns) are zipped as they are; others picked by position.
        if isinstance(first, dict):
            if not first.keys() >= wanted:
                return None
            return [dict(zip(names, pick(row), strict=True)) for row in rows]
        columns = tuple(first.keys())
        if not wanted.issubset(columns):
            return None
        if columns[: len(names)] == names:
            return [dict(zip(names, row)) for row in rows]  # noqa: B905 - sort keys may follow
        pick = _picker(tuple(map(columns.index, names)))
        return [dict(zip(names, pick(row), strict=True)) for row in rows]

    def _validated_items(self, rows: list, defs, hidden: frozenset[str]) -> list[dict]:
        """Rows through the output model (one with validators, serializers or aliases)."""
        out, exclude = self.r.out, hidden or None
        items = []
        for row in rows:
            if isinstance(row, dict) or hasattr(row, "keys"):
                row = dict(row)
                stored = row["custom_fields"]
                if type(stored) is str:
                    stored = json_loads(stored)
                model = out.model_validate({**row, "custom_fields": defs.present(stored)})
            else:
                model = out.model_validate(row)
                model.custom_fields = defs.present(row.custom_fields)  # type: ignore[attr-defined]
            items.append(model.model_dump(mode="json", by_alias=True, exclude=exclude))
        return items

    async def respond(
        self,
        session: AsyncSession,
        principal: Principal,
        row: Any,
        status_code: int = 200,
        headers: dict | None = None,
    ) -> Response:
        """A record's response: its body as :meth:`dump` writes it for the principal, with its
        ETag."""
        (item,) = await self.dump(session, [row], self.hidden(principal))
        version = row["version"] if isinstance(row, dict) or hasattr(row, "keys") else row.version
        return Response(
            output.to_json(item),
            status_code=status_code,
            media_type="application/json",
            headers={"ETag": etag(version), **(headers or {})},
        )

    async def read(
        self,
        session: AsyncSession,
        principal: Principal,
        record_id: uuid.UUID,
        *,
        records: bool = False,
    ) -> Any:
        """A live record the principal may read, as a dict of its columns (for responses; no ORM
        object is built); 404 otherwise. With ``records``, where the output model is written
        straight from rows, the asyncpg record of the output's fields in order, as a list page
        reads them (:meth:`_output_columns`: ids as text), for :meth:`dump` to zip as it is."""
        records = records and self._zippable

        def prepare(p: Principal) -> Prepared:
            stmt = self.visible(p, rows=True).where(self.m.id == bindparam("record_id"))
            if records:
                stmt = stmt.with_only_columns(*self._output_columns([]))
            return Prepared(stmt)

        stmt = self._statement(("read", records), principal, prepare)
        params = {"record_id": record_id, **access.bind_values(principal)}
        row = await stmt.fetchrow(session, params)
        if row is None:
            raise NotFound(f"No such {self.r.label}")
        return row if records else dict(row)

    async def _for_write(
        self,
        session: AsyncSession,
        principal: Principal,
        record_id: uuid.UUID,
        if_match: str | None,
        *,
        deleted: bool = False,
    ) -> Any:
        stmt = self._statement(
            ("for_write", deleted),
            principal,
            lambda p: (
                self.visible(p, deleted=deleted)
                .where(self.m.id == bindparam("record_id"))
                .add_columns(write_clause(self.m, p, self.r.sharing).label("may_write"))
                .with_for_update(of=self.m)
            ),
        )
        params = {"record_id": record_id, **access.bind_values(principal)}
        found = (await session.execute(stmt, params)).first()
        if found is None:
            raise NotFound(f"No such {self.r.label}")
        row, may_write = found
        if not may_write:
            raise Forbidden(
                f"You may see this {self.r.label} but not change it", code="insufficient_access"
            )
        check_if_match(if_match, row.version)
        return row

    # --- writing ------------------------------------------------------------------------

    async def _log(
        self,
        session: AsyncSession,
        principal: Principal,
        record_id: uuid.UUID,
        op: str,
        diffs: dict | None = None,
    ) -> None:
        params = self._log_params(principal, record_id, op, diffs)
        await _log_statement(params.pop(_ENTRIES)).execute(session, params)

    def _log_params(
        self,
        principal: Principal,
        record_id: uuid.UUID | None,
        op: str,
        diffs: dict | None = None,
        prefix: str = "",
    ) -> dict[str, Any]:
        """The parameters of :func:`_log_ctes`, and under ``_ENTRIES`` how many fields."""
        now = clock.now()
        entries = list(
            diffs.items() if diffs else [(op + "d" if op != "create" else "created", (None, None))]
        )
        p = prefix
        params: dict[str, Any] = {
            _ENTRIES: len(entries),
            f"{p}object_type": self.r.object_type,
            f"{p}record_id": record_id,
            f"{p}op": op,
            f"{p}changed_by": principal.user_id,
            f"{p}changed_at": now,
        }
        for i, (name, (old, new)) in enumerate(entries):
            params[f"{p}id_{i}"] = new_id()
            params[f"{p}field_{i}"] = name
            params[f"{p}old_{i}"] = _jsonable(old)
            params[f"{p}new_{i}"] = _jsonable(new)
        return params

    async def _validate(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any], existing: Any
    ) -> None:
        for name in (*self.r.required, "owner_id"):
            if name in values and values[name] is None:
                raise invalid(name, "required", f"{name} cannot be null")
        owner_id = values.get("owner_id")
        if (
            owner_id is not None
            and (existing is None or owner_id != existing.owner_id)
            # The caller itself was found active when its token was checked.
            and not (
                owner_id == principal.user_id
                and principal.kind in (PrincipalKind.user, PrincipalKind.partner_user)
            )
        ):
            partner = await self._check_owner(session, principal, owner_id)
            if (
                partner is not None
                and hasattr(self.m, "partner_account_id")
                and values.get("partner_account_id") is None
            ):
                # As in Salesforce: a record a partner user owns is shared with their partner.
                values["partner_account_id"] = partner
        await self._check_partner_account(session, values, existing)
        await self._check_picklists(session, values, existing)
        if self.r.validate:
            await self.r.validate(session, principal, values, existing)

    async def _check_owner(
        self, session: AsyncSession, principal: Principal, owner_id: uuid.UUID
    ) -> uuid.UUID | None:
        """A new owner must be an active user the caller may give records to: for internal
        callers an internal user or a partner user (whose partner account is returned: the
        record is then shared with it); for partners a user of their own partner account."""
        found = (
            await session.execute(
                select(User.kind, User.partner_account_id).where(
                    User.id == owner_id, User.is_active.is_(True)
                )
            )
        ).first()
        if is_partner(principal):
            if (
                found is None
                or found.kind != UserKind.partner
                or found.partner_account_id != principal.partner_account_id
            ):
                raise invalid(
                    "owner_id", "not_found", "The owner must be an active user of your partner"
                )
            return None
        if found is None or found.kind == UserKind.portal:
            raise invalid(
                "owner_id", "not_found", "The owner must be an active internal or partner user"
            )
        return found.partner_account_id if found.kind == UserKind.partner else None

    async def _check_partner_account(
        self, session: AsyncSession, values: dict[str, Any], existing: Any
    ) -> None:
        """``partner_account_id`` must name an enabled partner account (app/partners)."""
        ref = values.get("partner_account_id")
        if ref is None or (existing is not None and ref == existing.partner_account_id):
            return
        enabled = await session.scalar(
            select(Account.id).where(
                Account.id == ref, Account.is_partner.is_(True), Account.deleted_at.is_(None)
            )
        )
        if enabled is None:
            raise invalid("partner_account_id", "not_found", "No such partner account")

    def _guard(self, principal: Principal, data: BaseModel) -> None:
        """No mass assignment by partners: internal fields, the partner field and (but for a
        partner manager handing a record to another user of the partner) the owner."""
        if not is_partner(principal):
            return
        sent = data.model_fields_set
        for name in self.r.internal_fields:
            if name in sent:
                raise invalid(name, "internal_field", f"{name} is not available to partners")
        if "partner_account_id" in sent:
            raise invalid(
                "partner_account_id", "read_only", "partner_account_id is set by the system"
            )
        owner_id = getattr(data, "owner_id", None) if "owner_id" in sent else None
        if owner_id is not None and owner_id != principal.user_id and not partner_wide(principal):
            raise invalid("owner_id", "read_only", "Partner reps cannot change the owner")

    async def _check_picklists(
        self, session: AsyncSession, values: dict[str, Any], existing: Any
    ) -> None:
        """New picklist values must be active ones. A value a record already has may stay, even
        once deactivated (as in Salesforce). Read from a per-process snapshot refreshed every few
        seconds (app/picklists/cache.py), so a write costs no query for it."""
        changed = [
            f
            for f in self.r.picklists
            if values.get(f) is not None and (existing is None or values[f] != getattr(existing, f))
        ]
        if not changed:
            return
        snap = await picklist_cache.get(session)
        for f in changed:
            if not snap.is_active(self.r.tag, f, values[f]):
                raise invalid(
                    f,
                    "invalid_picklist_value",
                    f"'{values[f]}' is not an active value of {f} "
                    f"(see GET /api/v1/picklists/{self.r.tag}/{f})",
                )

    async def _picklist_defaults(
        self, session: AsyncSession, data: BaseModel, values: dict[str, Any]
    ) -> None:
        """Picklist fields a create leaves out get the picklist's default value."""
        missing = [
            f for f in self.r.picklists if values.get(f) is None and f not in data.model_fields_set
        ]
        if missing:
            snap = await picklist_cache.get(session)
            for f in missing:
                default = snap.default(self.r.tag, f)
                if default is not None:
                    values[f] = default

    async def visible_id(
        self, session: AsyncSession, principal: Principal, record_id: uuid.UUID
    ) -> bool:
        """Whether ``record_id`` is a live record the principal may read (for references)."""
        stmt = self._statement(
            ("visible_id",),
            principal,
            lambda p: select(self.visible(p).where(self.m.id == bindparam("record_id")).exists()),
        )
        params = {"record_id": record_id, **access.bind_values(principal)}
        return await session.scalar(stmt, params) is True

    async def referenceable(
        self, session: AsyncSession, principal: Principal, record_id: uuid.UUID
    ) -> bool:
        """Whether a record may point at ``record_id``: a live record the principal may read,
        or one created in this same transaction (lead conversion creates the account, then a
        contact and an opportunity pointing at it, for whichever owner it was given)."""
        if (self.r.name, record_id) in session.info.get(_CREATED, ()):
            return True
        return await self.visible_id(session, principal, record_id)

    async def check_parent(
        self, session: AsyncSession, principal: Principal, parent_id: uuid.UUID, existing: Any
    ) -> None:
        """For hierarchies on ``parent_id``: the parent must be a live record the caller can see,
        and not the record itself or one below it (no cycles)."""
        cursor, seen = parent_id, set()
        while cursor is not None and cursor not in seen:
            if existing is not None and cursor == existing.id:
                raise invalid("parent_id", "cycle", f"A {self.r.label} cannot be its own ancestor")
            seen.add(cursor)
            cursor = await session.scalar(select(self.m.parent_id).where(self.m.id == cursor))
        if not await self.visible_id(session, principal, parent_id):
            raise invalid("parent_id", "not_found", f"No such {self.r.label}")

    async def writable_id(
        self, session: AsyncSession, principal: Principal, record_id: uuid.UUID
    ) -> bool:
        """Whether ``record_id`` is a live record the principal may read and change."""
        stmt = self._statement(
            ("writable_id",),
            principal,
            lambda p: select(
                self.visible(p)
                .where(self.m.id == bindparam("record_id"))
                .where(write_clause(self.m, p, self.r.sharing))
                .exists()
            ),
        )
        params = {"record_id": record_id, **access.bind_values(principal)}
        return await session.scalar(stmt, params) is True

    async def create(
        self,
        session: AsyncSession,
        principal: Principal,
        data: BaseModel,
        *,
        plain: bool = False,
        alone: bool = False,
    ) -> Any:
        """Create a record from ``data``; the ORM object. With ``plain``, where no after-write
        hook wants the object, the row is inserted without one, with its history and change in
        the same statement, and returned as a dict of its columns. With ``alone`` too (the
        create route, which writes nothing after it), that statement may run as a transaction
        of its own (``Prepared.fetchrow_alone``)."""
        self._guard(principal, data)
        values = data.model_dump(exclude_unset=False)
        custom = values.pop("custom_fields", None)
        if hasattr(self.m, "owner_id") and values.get("owner_id") is None:
            if principal.user_id is None:
                raise invalid("owner_id", "required", "A service client must name the owner")
            values["owner_id"] = principal.user_id
        if is_partner(principal) and hasattr(self.m, "partner_account_id"):
            # What a partner creates is shared with the partner (the owner is one of its users).
            values["partner_account_id"] = principal.partner_account_id
        await self._picklist_defaults(session, data, values)
        await self._validate(session, principal, values, None)
        values["custom_fields"] = await custom_fields.prepare(session, self.r.name, custom, None)
        values["created_by"] = values["updated_by"] = principal.user_id
        insert_plain = None
        if plain and not self.r.after_write:
            insert_plain = _plain_insert(self.m, tuple(values))
        if insert_plain is not None:
            log = self._log_params(principal, None, "create", prefix=_LOG)
            del log[_ENTRIES]
            row = await insert_plain(session, values, log, alone)  # and its history and change
            record_id = row["id"]
        else:
            row = self.m(**values)
            session.add(row)
            await session.flush()
            record_id = row.id
            await self._log(session, principal, record_id, "create")
        session.info.setdefault(_CREATED, set()).add((self.r.name, record_id))
        if self.r.after_write:
            await self.r.after_write(session, principal, row, None)
        return row

    async def upsert(
        self, session: AsyncSession, principal: Principal, value: str, data: BaseModel
    ) -> tuple[Any, bool]:
        """Update the record with this external id (200), or create it (201)."""
        stmt = (
            select(self.m)
            .where(self.m.external_id == value)
            .add_columns(
                read_clause(self.m, principal, self.r.sharing).label("may_read"),
                write_clause(self.m, principal, self.r.sharing).label("may_write"),
            )
            .with_for_update(of=self.m)
        )
        found = (await session.execute(stmt)).first()
        if found is None:
            created = self.r.create.model_validate(
                {**data.model_dump(exclude_unset=True), "external_id": value}
            )
            return await self.create(session, principal, created), True
        row, may_read, may_write = found
        if not may_read or row.deleted_at is not None:
            # The id is taken by a record this caller cannot see (or one in the recycle bin).
            raise Conflict(
                f"external_id '{value}' is in use by another record", code="duplicate_detected"
            )
        if not may_write:
            raise Forbidden(
                f"You may see this {self.r.label} but not change it", code="insufficient_access"
            )
        changes = self.r.update.model_validate(data.model_dump(exclude_unset=True))
        return await self.update(session, principal, row.id, changes, None), False

    async def update(
        self,
        session: AsyncSession,
        principal: Principal,
        record_id: uuid.UUID,
        data: BaseModel,
        if_match: str | None,
    ) -> Any:
        row = await self._for_write(session, principal, record_id, if_match)
        self._guard(principal, data)
        changes = data.model_dump(exclude_unset=True)
        custom = changes.pop("custom_fields", None)
        await self._validate(session, principal, changes, row)
        if custom:
            changes["custom_fields"] = await custom_fields.prepare(
                session, self.r.name, custom, row.custom_fields
            )
        return await self.change(session, principal, row, changes)

    async def lock_for_write(
        self, session: AsyncSession, principal: Principal, record_id: uuid.UUID
    ) -> Any:
        """Load a record the principal may change, locked until the transaction ends (404 when
        invisible, 403 when read-only): the first step of every workflow transition."""
        return await self._for_write(session, principal, record_id, None)

    async def change(
        self, session: AsyncSession, principal: Principal, row: Any, values: dict[str, Any]
    ) -> Any:
        """Apply ``values`` to a locked row, with version, field history and the change feed.
        Workflows call it directly for fields a request body may not set."""
        diffs = {}
        for name, new in values.items():
            old = getattr(row, name)
            if old != new:
                if name == "custom_fields":  # history per key: custom_fields.<name>
                    diffs.update(custom_fields.diff(old, new))
                else:
                    diffs[name] = (old, new)
                setattr(row, name, new)
        if diffs:
            row.version += 1
            row.updated_by = principal.user_id
            row.updated_at = clock.now()
            await session.flush()
            await self._log(session, principal, row.id, "update", diffs)
            if self.r.after_write:
                await self.r.after_write(session, principal, row, diffs)
        return row

    async def delete(
        self,
        session: AsyncSession,
        principal: Principal,
        record_id: uuid.UUID,
        if_match: str | None,
    ) -> None:
        row = await self._for_write(session, principal, record_id, if_match)
        if self.r.before_delete:
            self.r.before_delete(row)
        now = clock.now()
        row.deleted_at = now
        row.deleted_by = principal.user_id
        row.version += 1
        session.info.get(_CREATED, set()).discard((self.r.name, row.id))
        await session.flush()
        await self._log(session, principal, row.id, "delete")
        # Its children go to the recycle bin with it, whoever owns them (as in Salesforce).
        await recycle.delete_children(session, principal, REGISTRY, self.r, row, now)

    async def restore(
        self, session: AsyncSession, principal: Principal, record_id: uuid.UUID
    ) -> Any:
        row = await self._for_write(session, principal, record_id, None, deleted=True)
        await recycle.check_restorable(session, REGISTRY, self.r, row)
        row.deleted_at = None
        row.deleted_by = None
        row.deleted_with = None
        row.version += 1
        await session.flush()
        await self._log(session, principal, row.id, "restore")
        await recycle.restore_children(session, principal, REGISTRY, self.r, row, clock.now())
        return row

    async def purge(
        self, session: AsyncSession, principal: Principal, record_id: uuid.UUID, *, limit: int
    ) -> dict[str, int]:
        """Hard-delete a record in the recycle bin now, with what was deleted with it. The
        caller must be able to change it (404 when invisible, 403 when read-only)."""
        row = await self._for_write(session, principal, record_id, None, deleted=True)
        return await recycle.purge_deletion(
            session, REGISTRY, self.r, row, now=clock.now(), by=principal.user_id, limit=limit
        )

    async def history(
        self,
        session: AsyncSession,
        principal: Principal,
        record_id: uuid.UUID,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[FieldHistory], str | None]:
        visible = self.visible(principal).where(self.m.id == record_id)
        deleted = self.visible(principal, deleted=True).where(self.m.id == record_id)
        if await session.scalar(select(visible.exists() | deleted.exists())) is not True:
            raise NotFound(f"No such {self.r.label}")
        stmt = select(FieldHistory).where(FieldHistory.record_id == record_id)
        hidden = self.hidden(principal)
        if hidden:
            stmt = stmt.where(FieldHistory.field.not_in(sorted(hidden)))
        if cursor:
            values = decode_cursor(cursor)
            stmt = stmt.where(
                FieldHistory.id > filtering.coerce(FieldHistory.id, "cursor", str(values[0]))
            )
        rows = list((await session.scalars(stmt.order_by(FieldHistory.id).limit(limit + 1))).all())
        if len(rows) > limit:
            rows = rows[:limit]
            return rows, encode_cursor([str(rows[-1].id)])
        return rows, None


def etag(version: int) -> str:
    return f'"{version}"'


def check_if_match(if_match: str | None, version: int) -> None:
    if if_match is None or if_match.strip() == "*":
        return
    wanted = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if etag(version) not in wanted:
        raise PreconditionFailed(
            f"The record has changed (now at version {version}); reload and retry",
            extra={"current_version": version},
        )


class HistoryEntry(BaseModel):
    id: uuid.UUID
    field: str
    old_value: Any
    new_value: Any
    changed_by: uuid.UUID | None
    changed_at: datetime


# The standard operations of a resource, by route name; ``build_router(operations=...)``.
OPERATIONS = frozenset(
    ("list", "create", "get", "update", "delete", "restore", "history", "upsert")
)


def build_router(records: Records, *, operations: frozenset[str] = OPERATIONS) -> Router:
    """The HTTP surface of a resource: `/api/v1/<name>` with the standard ``operations`` (a
    domain that creates its records its own way leaves out ``create`` and adds its route)."""
    unknown = operations - OPERATIONS
    if unknown:
        raise ValueError(f"unknown operations: {sorted(unknown)}")
    resource = records.r
    r, tag, label = resource, resource.tag, resource.label
    router = Router(prefix=r.url, tags=[tag])
    read, write = f"{r.scope}:read", f"{r.scope}:write"
    Out, Create, Update = r.out, r.create, r.update
    IfMatch = Annotated[str | None, Header(description="ETag from a previous read")]
    filter_doc = [
        {
            "name": f,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": f"Filter on {f}; operators as `{f}[op]=value` with op in "
            + ", ".join(filtering.OPERATORS),
        }
        for f in r.filterable
    ]

    sortable_list = ", ".join((*r.sortable, "id"))

    def op(name: str, method: str, path: str, **kw):
        """Route an operation the resource has (else leave the endpoint unrouted)."""
        if name not in operations:
            return lambda endpoint: endpoint
        return getattr(router, method)(path, name=name, **kw)

    @op(
        "list",
        "get",
        "",
        summary=f"List {r.name.replace('-', ' ')}",
        response_model=Page[Out],
        responses=problem_responses(400, 401, 403, 422),
        openapi_extra={"parameters": filter_doc},
    )
    @lean
    async def list_(
        request: Request,
        session: Session,
        principal: Annotated[Principal, require(read)],
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
        cursor: Annotated[str | None, Query()] = None,
        sort: Annotated[
            str | None,
            Query(description="Comma-separated; '-' for descending. One of " + sortable_list),
        ] = None,
        q: Annotated[str | None, Query(max_length=200, description="Text search")] = None,
    ):
        """Filter as `?field[op]=value` on the fields below, and on custom fields as
        `?custom_fields.<name>[op]=value`, compared as their type (numbers as numbers)."""
        rows, nxt = await records.find(
            session,
            principal,
            list(request.query_params.multi_items()),
            limit=limit,
            cursor=cursor,
            sort=sort,
            q=q,
            records=True,
        )
        data = await records.dump(session, rows, records.hidden(principal))
        body = output.to_json({"data": data, "next_cursor": nxt})
        return Response(body, media_type="application/json")

    @op(
        "create",
        "post",
        "",
        summary=f"Create a {label}",
        status_code=201,
        response_model=Out,
        responses=problem_responses(400, 401, 403, 409, 422),
    )
    @lean
    async def create(
        session: Session,
        principal: Annotated[Principal, require(write)],
        body: Create,
    ):
        row = await records.create(session, principal, body, plain=True, alone=True)
        record_id = row["id"] if isinstance(row, dict) else row.id
        headers = {"Location": f"{r.url}/{record_id}"}
        return await records.respond(session, principal, row, 201, headers)

    @op(
        "get",
        "get",
        "/{record_id}",
        summary=f"Get a {label}",
        response_model=Out,
        responses=problem_responses(401, 403, 404, 422),
    )
    @lean
    async def get(
        session: Session,
        principal: Annotated[Principal, require(read)],
        record_id: uuid.UUID,
    ):
        row = await records.read(session, principal, record_id, records=True)
        return await records.respond(session, principal, row)

    @op(
        "update",
        "patch",
        "/{record_id}",
        summary=f"Update a {label}",
        response_model=Out,
        responses=problem_responses(400, 401, 403, 404, 409, 412, 422),
    )
    @lean
    async def update(
        session: Session,
        principal: Annotated[Principal, require(write)],
        record_id: uuid.UUID,
        body: Update,
        if_match: IfMatch = None,
    ):
        """Change some fields. Send `If-Match` with the ETag you read to refuse lost updates."""
        row = await records.update(session, principal, record_id, body, if_match)
        return await records.respond(session, principal, row)

    @op(
        "delete",
        "delete",
        "/{record_id}",
        summary=f"Delete a {label} (to the recycle bin)",
        status_code=204,
        responses=problem_responses(401, 403, 404, 409, 412),
    )
    @lean
    async def delete(
        session: Session,
        principal: Annotated[Principal, require(write)],
        record_id: uuid.UUID,
        if_match: IfMatch = None,
    ) -> None:
        await records.delete(session, principal, record_id, if_match)

    @op(
        "restore",
        "post",
        "/{record_id}/restore",
        summary=f"Restore a deleted {label}",
        response_model=Out,
        responses=problem_responses(401, 403, 404, 409),
    )
    @lean
    async def restore(
        session: Session,
        principal: Annotated[Principal, require(write)],
        record_id: uuid.UUID,
    ):
        row = await records.restore(session, principal, record_id)
        return await records.respond(session, principal, row)

    @op(
        "history",
        "get",
        "/{record_id}/history",
        summary=f"Field history of a {label}",
        response_model=Page[HistoryEntry],
        responses=problem_responses(401, 403, 404, 422),
    )
    async def history(
        session: Session,
        principal: Annotated[Principal, require(read)],
        record_id: uuid.UUID,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
        cursor: Annotated[str | None, Query()] = None,
    ):
        rows, nxt = await records.history(session, principal, record_id, limit, cursor)
        return {
            "data": [HistoryEntry.model_validate(x, from_attributes=True) for x in rows],
            "next_cursor": nxt,
        }

    if hasattr(r.model, "external_id"):

        @op(
            "upsert",
            "put",
            "/by-external-id/{external_id}",
            summary=f"Create or update a {label} by external id",
            response_model=Out,
            responses={201: {"description": "Created"}, **problem_responses(401, 403, 409, 422)},
        )
        @lean
        async def upsert(
            session: Session,
            principal: Annotated[Principal, require(write)],
            external_id: Annotated[str, Path(min_length=1, max_length=255)],
            body: Create,
        ):
            """For systems that sync with their own ids: creates the record (201) when no record
            has this `external_id`, updates it (200) when one does."""
            row, created = await records.upsert(session, principal, external_id, body)
            return await records.respond(session, principal, row, 201 if created else 200)

    return router


__all__ = [
    "OPERATIONS",
    "RECORDS",
    "REGISTRY",
    "Cascade",
    "Records",
    "Resource",
    "build_router",
    "invalid",
]
