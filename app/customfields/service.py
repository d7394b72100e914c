"""Custom field definitions: define, change, delete (to Deleted Fields for 15 days), restore and
erase. Never commits. Values on records are checked in ``values``."""

import uuid
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.customfields import schemas, values
from app.kit import clock
from app.kit.errors import Conflict, NotFound, ValidationFailed
from app.kit.pagination import PageParams, by_id, page_of
from app.models import CustomField, CustomFieldType

# As many custom fields per object as Salesforce's Enterprise edition allows (deleted ones count
# until erased, as there).
MAX_PER_OBJECT = 500
_SIZED = {
    CustomFieldType.text: ("max_length",),
    CustomFieldType.number: ("precision", "scale"),
    CustomFieldType.currency: ("precision", "scale"),
    CustomFieldType.picklist: ("picklist_values",),
}


def _invalid(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"field": field, "code": code, "message": message}])


def _resources() -> dict[str, Any]:
    from app.kit.resource import REGISTRY  # the machinery imports this package

    return REGISTRY


def _not_expired() -> ColumnElement[bool]:
    """Live fields and deleted ones still in their 15 days (later ones are as good as erased)."""
    cutoff = clock.now() - schemas.KEEP_DELETED
    return or_(CustomField.deleted_at.is_(None), CustomField.deleted_at > cutoff)


def readable_objects(principal: Principal) -> list[str] | None:
    """The objects whose definitions the principal may read (None: all). Any principal may
    read the definitions of the objects it may read: clients need the schema."""
    if "admin" in principal.scopes:
        return None
    return [n for n, r in _resources().items() if f"{r.scope}:read" in principal.scopes]


async def list_fields(
    session: AsyncSession,
    principal: Principal,
    params: PageParams,
    *,
    obj: str | None,
    deleted: bool,
) -> tuple[list[CustomField], str | None]:
    stmt = select(CustomField).where(_not_expired())
    stmt = stmt.where(
        CustomField.deleted_at.is_not(None) if deleted else CustomField.deleted_at.is_(None)
    )
    if obj is not None:
        stmt = stmt.where(CustomField.object == obj)
    allowed = readable_objects(principal)
    if allowed is not None:
        stmt = stmt.where(CustomField.object.in_(allowed))
    rows = list((await session.scalars(by_id(stmt, CustomField.id, params))).all())
    return page_of(rows, params)


async def get_field(
    session: AsyncSession, field_id: uuid.UUID, principal: Principal | None = None
) -> CustomField:
    field = await session.scalar(
        select(CustomField).where(CustomField.id == field_id, _not_expired())
    )
    allowed = readable_objects(principal) if principal else None
    if field is None or (allowed is not None and field.object not in allowed):
        raise NotFound("No such custom field")
    return field


def _check_choices(choices: list[str] | None) -> None:
    if choices is not None and len(set(choices)) != len(choices):
        raise _invalid("picklist_values", "duplicate", "Picklist values must be unique")


async def create_field(
    session: AsyncSession, principal: Principal, data: schemas.CustomFieldCreate
) -> CustomField:
    if data.object not in _resources():
        raise _invalid("object", "not_found", f"No object '{data.object}'")
    await erase_expired(session)
    given = data.model_dump(exclude_unset=True, exclude_none=True)
    for attr in ("max_length", "precision", "scale", "picklist_values"):
        if attr in given and attr not in _SIZED.get(data.type, ()):
            raise _invalid(attr, "not_applicable", f"{attr} does not apply to {data.type} fields")
    sizes: dict[str, Any] = {}
    if data.type == CustomFieldType.text:
        sizes["max_length"] = data.max_length or 255
    elif data.type == CustomFieldType.picklist:
        if not data.picklist_values:
            raise _invalid("picklist_values", "required", "A picklist needs its values")
        _check_choices(data.picklist_values)
        sizes["picklist_values"] = data.picklist_values
    elif data.type in (CustomFieldType.number, CustomFieldType.currency):
        precision = data.precision or 18
        default_scale = 2 if data.type == CustomFieldType.currency else 0
        scale = default_scale if data.scale is None else data.scale
        if data.type == CustomFieldType.currency and scale != 2:
            raise _invalid("scale", "not_applicable", "Currency fields have 2 decimal places")
        if scale > precision:
            raise _invalid("scale", "out_of_range", "scale cannot exceed precision")
        sizes.update(precision=precision, scale=scale)
    count = await session.scalar(
        select(func.count()).select_from(CustomField).where(CustomField.object == data.object)
    )
    if count >= MAX_PER_OBJECT:
        raise Conflict(
            f"{data.object} has {MAX_PER_OBJECT} custom fields, the most allowed",
            code="limit_exceeded",
        )
    taken = await session.scalar(
        select(CustomField.deleted_at.is_not(None)).where(
            CustomField.object == data.object, CustomField.name == data.name
        )
    )
    if taken is not None:
        where = " (a deleted one: erase it to free the name)" if taken else ""
        raise Conflict(
            f"{data.object} already has a custom field '{data.name}'{where}",
            code="duplicate_detected",
        )
    field = CustomField(
        object=data.object,
        name=data.name,
        label=data.label,
        type=data.type,
        required=data.required,
        description=data.description,
        created_by=principal.user_id,
        updated_by=principal.user_id,
        **sizes,
    )
    session.add(field)
    await session.flush()
    values.changed(session, field.object)
    return field


async def update_field(
    session: AsyncSession,
    principal: Principal,
    field: CustomField,
    data: schemas.CustomFieldUpdate,
) -> CustomField:
    if field.deleted_at is not None:
        raise Conflict(
            "The custom field is deleted; restore it first", code="invalid_state_transition"
        )
    changes = data.model_dump(exclude_unset=True)
    for name in ("label", "required", "is_active", "picklist_values", "max_length"):
        if name in changes and changes[name] is None:
            raise _invalid(name, "required", f"{name} cannot be null")
    if "picklist_values" in changes:
        if field.type != CustomFieldType.picklist:
            raise _invalid("picklist_values", "not_applicable", "Only picklists have values")
        _check_choices(changes["picklist_values"])
    if "max_length" in changes:
        if field.type != CustomFieldType.text:
            raise _invalid("max_length", "not_applicable", "Only text fields have a length")
        if changes["max_length"] < (field.max_length or 0):
            raise _invalid(
                "max_length", "too_short", "max_length may only grow (values would not fit)"
            )
    for name, value in changes.items():
        setattr(field, name, value)
    if changes:
        field.updated_by = principal.user_id
        field.updated_at = clock.now()
        await session.flush()
        values.changed(session, field.object)
    return field


async def delete_field(session: AsyncSession, principal: Principal, field: CustomField) -> None:
    """To Deleted Fields: hidden with its values, restorable for 15 days, then erased."""
    await erase_expired(session)
    if field.deleted_at is not None:
        return
    field.deleted_at = clock.now()
    field.deleted_by = principal.user_id
    await session.flush()
    values.changed(session, field.object)


async def restore_field(session: AsyncSession, principal: Principal, field: CustomField) -> None:
    if field.deleted_at is None:
        return
    field.deleted_at = None
    field.deleted_by = None
    field.updated_by = principal.user_id
    field.updated_at = clock.now()
    await session.flush()
    values.changed(session, field.object)


async def erase_field(session: AsyncSession, field: CustomField) -> None:
    """Remove a deleted field and its values from every record, for good."""
    if field.deleted_at is None:
        raise Conflict(
            "Only a deleted custom field can be erased; delete it first",
            code="invalid_state_transition",
        )
    await _erase(session, field)


async def erase_expired(session: AsyncSession) -> int:
    """Erase the fields deleted more than 15 days ago. Runs with every change of definitions
    (a scheduled job can call it too)."""
    cutoff = clock.now() - schemas.KEEP_DELETED
    rows = list(await session.scalars(select(CustomField).where(CustomField.deleted_at <= cutoff)))
    for field in rows:
        await _erase(session, field)
    return len(rows)


async def _erase(session: AsyncSession, field: CustomField) -> None:
    resource = _resources().get(field.object)
    if resource is not None:
        column = resource.model.custom_fields
        await session.execute(
            update(resource.model)
            .where(column.has_key(field.name))
            .values(
                custom_fields=column.op("-", return_type=JSONB)(field.name),
                updated_at=resource.model.updated_at,  # not a change of the record
            )
            .execution_options(synchronize_session=False)
        )
    await session.delete(field)
    await session.flush()
    values.changed(session, field.object)
