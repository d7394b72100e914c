"""Custom field definitions: administrators define them, every client may read them."""

import uuid
from typing import Annotated

from fastapi import Depends, Query

from app.auth.principal import CurrentPrincipal, Principal, require
from app.customfields import schemas, service
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.pagination import Page, PageParams, page_params
from app.kit.routing import Router

router = Router(prefix="/api/v1/custom-fields", tags=["custom_fields"])
ERRORS = problem_responses(401, 403, 422)
ITEM_ERRORS = problem_responses(401, 403, 404, 422)
Paging = Annotated[PageParams, Depends(page_params)]
Admin = Annotated[Principal, require("admin")]


@router.get(
    "",
    name="list",
    summary="List custom fields",
    response_model=Page[schemas.CustomField],
    responses=ERRORS,
)
async def list_fields(
    session: Session,
    principal: CurrentPrincipal,
    paging: Paging,
    object: Annotated[
        str | None, Query(description="Only this object's fields, e.g. `leads`")
    ] = None,
    deleted: Annotated[
        bool, Query(description="List the deleted fields that can still be restored instead")
    ] = False,
):
    """The custom fields of the objects the caller may read, in creation order. Records carry
    their values in `custom_fields`, and lists filter on them with
    `?custom_fields.<name>[op]=value`."""
    rows, cursor = await service.list_fields(
        session, principal, paging, obj=object, deleted=deleted
    )
    return {"data": rows, "next_cursor": cursor}


@router.post(
    "",
    name="create",
    summary="Define a custom field",
    status_code=201,
    response_model=schemas.CustomField,
    responses={**ERRORS, **problem_responses(409)},
)
async def create_field(session: Session, principal: Admin, body: schemas.CustomFieldCreate):
    """Add a typed field to an object: text (`max_length`, default 255), number (`precision`
    digits in all, `scale` after the point), currency (2 decimals), date, boolean or picklist
    (`picklist_values`). Records accept and return it at once; a required field must be given
    whenever a record is created."""
    return await service.create_field(session, principal, body)


@router.get(
    "/{field_id}",
    name="get",
    summary="Get a custom field",
    response_model=schemas.CustomField,
    responses=ITEM_ERRORS,
)
async def get_field(session: Session, principal: CurrentPrincipal, field_id: uuid.UUID):
    return await service.get_field(session, field_id, principal)


@router.patch(
    "/{field_id}",
    name="update",
    summary="Change a custom field",
    response_model=schemas.CustomField,
    responses={**ITEM_ERRORS, **problem_responses(409)},
)
async def update_field(
    session: Session, principal: Admin, field_id: uuid.UUID, body: schemas.CustomFieldUpdate
):
    """Change the label, description, picklist values, whether it is required or active, or
    let a text field hold more. The name, type and numeric size never change (422): define a new
    field instead. Records keep picklist values that are no longer listed."""
    field = await service.get_field(session, field_id)
    return await service.update_field(session, principal, field, body)


@router.delete(
    "/{field_id}",
    name="delete",
    summary="Delete a custom field",
    status_code=204,
    responses=ITEM_ERRORS,
)
async def delete_field(session: Session, principal: Admin, field_id: uuid.UUID) -> None:
    """As in Salesforce, the field goes to the deleted fields: it and its values disappear from
    records, lists and filters, and `restore` brings both back for 15 days (`erase_after`).
    Then, or on `erase`, they are gone for good. Its name stays taken until it is erased."""
    field = await service.get_field(session, field_id)
    await service.delete_field(session, principal, field)


@router.post(
    "/{field_id}/restore",
    name="restore",
    summary="Restore a deleted custom field",
    response_model=schemas.CustomField,
    responses=ITEM_ERRORS,
)
async def restore_field(session: Session, principal: Admin, field_id: uuid.UUID):
    """Bring a deleted field back with the values records had."""
    field = await service.get_field(session, field_id)
    await service.restore_field(session, principal, field)
    return field


@router.post(
    "/{field_id}/erase",
    name="erase",
    summary="Erase a deleted custom field",
    status_code=204,
    responses={**ITEM_ERRORS, **problem_responses(409)},
    dependencies=[require("admin")],
)
async def erase_field(session: Session, field_id: uuid.UUID) -> None:
    """Remove a deleted field and its values from every record now, rather than after 15 days.
    Frees its name."""
    field = await service.get_field(session, field_id)
    await service.erase_field(session, field)
