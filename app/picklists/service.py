"""Administering picklist values: the rules Salesforce applies to them.

- A value is never renamed (records store it); its label, order, default and attributes change.
- Deactivating keeps the value on the records that have it; new writes refuse it.
- A value in use (by any record, deleted ones included) cannot be deleted: deactivate it.
- At most one default per value set; making a value the default takes it from the old one. Lead
  status and opportunity stage always keep one (records cannot leave them empty). A default
  must be active.
- At least one active converted lead status remains, or no lead could be converted.

Every change drops the in-process snapshot the write checks read (app/picklists/cache.py).
"""

import uuid
from typing import Any

from sqlalchemy import event, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.kit import clock
from app.kit.errors import Conflict, InsufficientScope, NotFound
from app.kit.resource import REGISTRY, Resource, invalid
from app.models import OpportunityStageHistory, PicklistValue
from app.picklists import schemas
from app.picklists.cache import (
    ALL_ATTRIBUTES,
    ATTRIBUTES,
    NEEDS_DEFAULT,
    Key,
    picklists,
    sharers,
    value_set,
)


def declared() -> dict[Key, Resource]:
    """Every picklist field an object declares (``Resource.picklists``), with its resource."""
    return {(r.tag, f): r for r in REGISTRY.values() for f in r.picklists}


def _resource(obj: str, field: str) -> Resource:
    r = declared().get((obj, field))
    if r is None:
        raise NotFound(f"No picklist field {obj}.{field}")
    return r


def may_read(principal: Principal, resource: Resource) -> bool:
    """Who may read a field's values: whoever may read the object, and administrators."""
    return principal.has("admin") or principal.has(f"{resource.scope}:read")


def _name(key: Key) -> str:
    return f"{key[0]}.{key[1]}"


def _field_out(key: Key, rows: list[PicklistValue]) -> schemas.PicklistField:
    canon = value_set(*key)
    users = [k for k in sharers(canon) if k in declared()]
    return schemas.PicklistField(
        object=key[0],
        field=key[1],
        value_set=_name(canon),
        used_by=[_name(k) for k in users],
        attributes=list(ATTRIBUTES.get(canon, ())),
        values=[schemas.PicklistValue.model_validate(r) for r in rows],
    )


async def list_fields(
    session: AsyncSession, principal: Principal, obj: str | None, include_inactive: bool
) -> schemas.PicklistFields:
    keys = [
        k
        for k, r in sorted(declared().items())
        if (obj is None or k[0] == obj) and may_read(principal, r)
    ]
    stmt = select(PicklistValue).order_by(PicklistValue.sort_order, PicklistValue.value)
    if not include_inactive:
        stmt = stmt.where(PicklistValue.is_active)
    by_set: dict[Key, list[PicklistValue]] = {}
    for row in (await session.scalars(stmt)).all():
        by_set.setdefault((row.object, row.field), []).append(row)
    return schemas.PicklistFields(data=[_field_out(k, by_set.get(value_set(*k), [])) for k in keys])


async def get_field(
    session: AsyncSession, principal: Principal, obj: str, field: str, include_inactive: bool
) -> schemas.PicklistField:
    r = _resource(obj, field)
    if not may_read(principal, r):
        raise InsufficientScope(f"{r.scope}:read")
    canon = value_set(obj, field)
    stmt = (
        select(PicklistValue)
        .where(PicklistValue.object == canon[0], PicklistValue.field == canon[1])
        .order_by(PicklistValue.sort_order, PicklistValue.value)
    )
    if not include_inactive:
        stmt = stmt.where(PicklistValue.is_active)
    return _field_out((obj, field), list((await session.scalars(stmt)).all()))


def _max_length(canon: Key) -> int:
    """The longest value every column using the value set can store."""
    fields = declared()
    lengths = [fields[k].model.__table__.c[k[1]].type.length for k in sharers(canon) if k in fields]
    return min([n for n in lengths if n] or [255])


def _check_attributes(canon: Key, given: dict[str, Any]) -> None:
    allowed = ATTRIBUTES.get(canon, ())
    for name in ALL_ATTRIBUTES:
        if name in given and given[name] is not None and name not in allowed:
            raise invalid(name, "not_applicable", f"{name} does not apply to {_name(canon)}")


async def _clear_default(session: AsyncSession, canon: Key, keep: uuid.UUID | None) -> None:
    stmt = update(PicklistValue).where(
        PicklistValue.object == canon[0],
        PicklistValue.field == canon[1],
        PicklistValue.is_default,
    )
    if keep is not None:
        stmt = stmt.where(PicklistValue.id != keep)
    await session.execute(
        stmt.values(is_default=False).execution_options(synchronize_session=False)
    )


def _invalidate_later(session) -> None:
    picklists.invalidate()


def _changed(session: AsyncSession) -> None:
    """Drop the snapshot now and again when the transaction ends, so that no request of this
    process keeps what it might load in between (the change, or its absence)."""
    picklists.invalidate()
    sync = session.sync_session
    if not sync.info.get("picklists_listening"):
        sync.info["picklists_listening"] = True
        event.listen(sync, "after_commit", _invalidate_later)
        event.listen(sync, "after_rollback", _invalidate_later)


async def create_value(
    session: AsyncSession,
    principal: Principal,
    obj: str,
    field: str,
    data: schemas.PicklistValueCreate,
) -> PicklistValue:
    _resource(obj, field)
    canon = value_set(obj, field)
    given = data.model_dump()
    _check_attributes(canon, given)
    limit = _max_length(canon)
    if len(data.value) > limit:
        raise invalid("value", "too_long", f"{_name(canon)} values are at most {limit} characters")
    P = PicklistValue
    same_set = (P.object == canon[0], P.field == canon[1])
    taken = await session.scalar(select(exists().where(*same_set, P.value == data.value)))
    if taken:
        raise Conflict(
            f"'{data.value}' is already a value of {_name(canon)}", code="duplicate_value"
        )
    if data.is_default and not data.is_active:
        raise invalid("is_default", "default_inactive", "The default value must be active")
    attrs: dict[str, Any] = {}
    if canon == ("opportunities", "stage"):
        for name in ("probability", "forecast_category"):
            if given[name] is None:
                raise invalid(name, "required", f"A stage needs {name}")
        attrs = {
            "probability": data.probability,
            "forecast_category": data.forecast_category,
            "is_closed": bool(data.is_closed or data.is_won),
            "is_won": bool(data.is_won),
        }
        if data.is_won and data.is_closed is False:
            raise invalid("is_won", "invalid", "A won stage is closed")
    elif canon == ("leads", "status"):
        attrs = {"is_converted": bool(data.is_converted)}
    elif canon == ("cases", "status"):
        attrs = {"is_closed": bool(data.is_closed), "is_waiting": bool(data.is_waiting)}
    sort_order = data.sort_order
    if sort_order is None:
        last = await session.scalar(select(func.max(P.sort_order)).where(*same_set))
        sort_order = (last or 0) + 10
    if data.is_default:
        await _clear_default(session, canon, None)
    row = PicklistValue(
        object=canon[0],
        field=canon[1],
        value=data.value,
        label=data.label or data.value,
        sort_order=sort_order,
        is_active=data.is_active,
        is_default=data.is_default,
        updated_by=principal.user_id,
        **attrs,
    )
    session.add(row)
    await session.flush()
    _changed(session)
    return row


async def _locked(session: AsyncSession, obj: str, field: str, value_id: uuid.UUID):
    _resource(obj, field)
    canon = value_set(obj, field)
    row = await session.scalar(
        select(PicklistValue)
        .where(
            PicklistValue.id == value_id,
            PicklistValue.object == canon[0],
            PicklistValue.field == canon[1],
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound(f"No such value of {obj}.{field}")
    return canon, row


async def update_value(
    session: AsyncSession,
    principal: Principal,
    obj: str,
    field: str,
    value_id: uuid.UUID,
    data: schemas.PicklistValueUpdate,
) -> PicklistValue:
    canon, row = await _locked(session, obj, field, value_id)
    changes = data.model_dump(exclude_unset=True)
    for name, new in changes.items():
        if new is None:
            raise invalid(name, "required", f"{name} cannot be null")
    _check_attributes(canon, changes)
    merged = {k: changes.get(k, getattr(row, k)) for k in ("is_active", "is_default")}
    if row.is_default and not merged["is_default"] and canon in NEEDS_DEFAULT:
        raise invalid(
            "is_default",
            "default_required",
            f"{_name(canon)} needs a default: make another value the default instead",
        )
    if merged["is_default"] and not merged["is_active"]:
        raise invalid(
            "is_active" if "is_active" in changes else "is_default",
            "default_inactive",
            "The default value must be active: make another value the default first",
        )
    if canon == ("opportunities", "stage"):
        closed = changes.get("is_closed", row.is_closed)
        if changes.get("is_won", row.is_won) and not closed:
            raise invalid("is_won", "invalid", "A won stage is closed")
    losing_converted = not merged["is_active"] or not changes.get("is_converted", True)
    if canon == ("leads", "status") and row.is_active and row.is_converted and losing_converted:
        others = await session.scalar(
            select(
                exists().where(
                    PicklistValue.object == "leads",
                    PicklistValue.field == "status",
                    PicklistValue.is_active,
                    PicklistValue.is_converted.is_(True),
                    PicklistValue.id != row.id,
                )
            )
        )
        if not others:
            raise invalid(
                "is_active" if "is_active" in changes else "is_converted",
                "last_converted_status",
                "Leads need at least one active converted status",
            )
    if changes.get("is_default") and not row.is_default:
        await _clear_default(session, canon, row.id)
    for name, new in changes.items():
        setattr(row, name, new)
    row.updated_by = principal.user_id
    row.updated_at = clock.now()
    await session.flush()
    _changed(session)
    return row


async def delete_value(
    session: AsyncSession, principal: Principal, obj: str, field: str, value_id: uuid.UUID
) -> None:
    canon, row = await _locked(session, obj, field, value_id)
    if row.is_default:
        raise Conflict(
            "The default value cannot be deleted: make another value the default first",
            code="picklist_value_is_default",
        )
    fields = declared()
    used = [
        exists().where(getattr(fields[k].model, k[1]) == row.value)
        for k in sharers(canon)
        if k in fields
    ]
    if canon == ("opportunities", "stage"):
        used.append(exists().where(OpportunityStageHistory.stage == row.value))
    if await session.scalar(select(or_(*used))):
        raise Conflict(
            f"'{row.value}' is in use by records (deleted ones included); deactivate it instead",
            code="picklist_value_in_use",
        )
    await session.delete(row)
    await session.flush()
    _changed(session)
