"""``/api/v1/picklists``: the allowed values of records' picklist fields.

Anyone who may read an object may read its picklists (``<object>:read``, or ``admin``), so
that forms and integrations can offer the right choices; only administrators change them.
"""

import uuid
from typing import Annotated

from fastapi import Path, Query, Response

from app.auth.principal import CurrentPrincipal, Principal, require
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.routing import Router
from app.picklists import schemas, service

router = Router(prefix="/api/v1/picklists", tags=["picklists"])

Object = Annotated[str, Path(max_length=60, description="The object, e.g. `leads`")]
Field = Annotated[str, Path(max_length=60, description="The field, e.g. `status`")]
IncludeInactive = Annotated[
    bool, Query(description="Also list deactivated values (still on older records)")
]
Admin = Annotated[Principal, require("admin")]


@router.get(
    "",
    name="list",
    summary="List picklist fields and their values",
    response_model=schemas.PicklistFields,
    responses=problem_responses(401, 422),
)
async def list_picklists(
    session: Session,
    principal: CurrentPrincipal,
    object: Annotated[str | None, Query(max_length=60, description="Only this object")] = None,
    include_inactive: IncludeInactive = False,
):
    """Every picklist field of the objects the caller may read (`<object>:read` or `admin`),
    each with its values in sort order: active ones, unless `include_inactive`."""
    return await service.list_fields(session, principal, object, include_inactive)


@router.get(
    "/{object}/{field}",
    name="get",
    summary="Get a picklist field's values",
    response_model=schemas.PicklistField,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_picklist(
    session: Session,
    principal: CurrentPrincipal,
    object: Object,
    field: Field,
    include_inactive: IncludeInactive = False,
):
    """The values of one picklist field, in sort order. Needs `<object>:read` or `admin`."""
    return await service.get_field(session, principal, object, field, include_inactive)


@router.post(
    "/{object}/{field}/values",
    name="create_value",
    summary="Add a picklist value",
    status_code=201,
    response_model=schemas.PicklistValue,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_value(
    session: Session,
    principal: Admin,
    object: Object,
    field: Field,
    body: schemas.PicklistValueCreate,
    response: Response,
):
    """Administrators only. The value is what records store and cannot be changed later (the
    label can). A stage needs `probability` and `forecast_category`; `is_closed` / `is_won`
    make it a closed (won) stage. A lead status with `is_converted` may be used to convert.
    An existing value is a 409 `duplicate_value`."""
    row = await service.create_value(session, principal, object, field, body)
    response.headers["Location"] = f"/api/v1/picklists/{object}/{field}/values/{row.id}"
    return schemas.PicklistValue.model_validate(row)


@router.patch(
    "/{object}/{field}/values/{value_id}",
    name="update_value",
    summary="Change or deactivate a picklist value",
    response_model=schemas.PicklistValue,
    responses=problem_responses(401, 403, 404, 422),
)
async def update_value(
    session: Session,
    principal: Admin,
    object: Object,
    field: Field,
    value_id: uuid.UUID,
    body: schemas.PicklistValueUpdate,
):
    """Administrators only. Change the label, order, default or attributes. `is_active: false`
    deactivates: records that have the value keep it, new writes refuse it (422). Making a value
    the default takes it from the previous one; a default must be active, and lead status and
    opportunity stage always keep one. Attribute changes apply to later writes; existing
    records keep what they have."""
    row = await service.update_value(session, principal, object, field, value_id, body)
    return schemas.PicklistValue.model_validate(row)


@router.delete(
    "/{object}/{field}/values/{value_id}",
    name="delete_value",
    summary="Delete an unused picklist value",
    status_code=204,
    responses=problem_responses(401, 403, 404, 409),
)
async def delete_value(
    session: Session,
    principal: Admin,
    object: Object,
    field: Field,
    value_id: uuid.UUID,
) -> None:
    """Administrators only. A value that any record has (deleted ones included) cannot be
    deleted: 409 `picklist_value_in_use`; deactivate it instead. The default neither."""
    await service.delete_value(session, principal, object, field, value_id)


__all__ = ["router"]
