"""``/api/v1/partners``: partner accounts, their users and their systems' OAuth clients."""

import uuid
from typing import Annotated

from fastapi import Depends, Query

from app.admin import schemas as admin_schemas
from app.admin import service as admin_service
from app.auth.principal import Principal, require
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.pagination import Page, PageParams, page_params
from app.kit.routes import Routes
from app.kit.routing import Router
from app.models import PartnerStatus, PartnerTier
from app.partners import schemas, service

router = Router(prefix="/api/v1/partners", tags=["partners"])

Paging = Annotated[PageParams, Depends(page_params)]
Reader = Annotated[Principal, require("partners:read")]
Writer = Annotated[Principal, require("partners:write")]
READ_ERRORS = problem_responses(401, 403, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)

# The partner account, its users and its clients, as the routes below answer them.
partner_routes = Routes(router, response_model=schemas.PartnerAccount, responses=WRITE_ERRORS)
user_routes = Routes(router, response_model=admin_schemas.UserOut, responses=WRITE_ERRORS)
client_routes = Routes(router, response_model=admin_schemas.ApiClientOut, responses=WRITE_ERRORS)


@router.get(
    "",
    name="list",
    summary="List partner accounts",
    response_model=Page[schemas.PartnerAccount],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_partners(
    session: Session,
    principal: Reader,
    paging: Paging,
    partner_tier: Annotated[PartnerTier | None, Query()] = None,
    partner_status: Annotated[PartnerStatus | None, Query()] = None,
    channel_manager_id: Annotated[uuid.UUID | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200, description="Match the account name")] = None,
):
    """Accounts enabled as partners that you may see, in creation order. A partner's own users
    see only their own partner account."""
    rows, cursor = await service.list_partners(
        session,
        principal,
        paging,
        tier=partner_tier,
        status=partner_status,
        channel_manager_id=channel_manager_id,
        q=q,
    )
    return {"data": rows, "next_cursor": cursor}


@partner_routes.get(
    "/{account_id}", name="get", summary="Get a partner account", responses=READ_ERRORS
)
async def get_partner(session: Session, principal: Reader, account_id: uuid.UUID):
    return await service.get(session, principal, account_id)


@partner_routes.post(
    "/{account_id}/enable", name="enable", summary="Enable an account as a partner"
)
async def enable(
    session: Session, principal: Writer, account_id: uuid.UUID, body: schemas.PartnerEnable
):
    """Salesforce's "Enable As Partner": the account joins the partner program with a tier and
    a status; its partner users and clients can then be created. The channel manager defaults
    to the caller. An account that is already a partner is a 409."""
    return await service.enable(session, principal, account_id, body)


@partner_routes.patch("/{account_id}", name="update", summary="Change a partner's program fields")
async def update(
    session: Session, principal: Writer, account_id: uuid.UUID, body: schemas.PartnerUpdate
):
    return await service.update(session, principal, account_id, body)


@partner_routes.post("/{account_id}/disable", name="disable", summary="Disable a partner")
async def disable(
    session: Session,
    principal: Writer,
    account_id: uuid.UUID,
    body: schemas.PartnerDisable | None = None,
):
    """The account stops being a partner: every partner user of it is deactivated and every
    client bound to it revoked, so their tokens stop working at once. Records stay."""
    return await service.disable(session, principal, account_id, body or schemas.PartnerDisable())


# --- users ---------------------------------------------------------------------------------


@user_routes.post(
    "/{account_id}/users", name="create_user", summary="Create a partner user", status_code=201
)
async def create_user(
    session: Session, principal: Writer, account_id: uuid.UUID, body: schemas.PartnerUserCreate
):
    """A user of the partner (partner manager: sees everything shared with the partner;
    partner rep: only what they own), linked to a contact of the partner account (created
    when `contact_id` is left out). Partner users sign in through the same OAuth server and
    get at most the partner scopes."""
    return await service.create_user(session, principal, account_id, body)


@router.get(
    "/{account_id}/users",
    name="list_users",
    summary="List a partner's users",
    response_model=Page[admin_schemas.UserOut],
    responses=READ_ERRORS,
)
async def list_users(
    session: Session,
    principal: Reader,
    account_id: uuid.UUID,
    paging: Paging,
    is_active: Annotated[bool | None, Query()] = None,
):
    rows, cursor = await service.list_users(
        session, principal, account_id, paging, is_active=is_active
    )
    return {"data": rows, "next_cursor": cursor}


@user_routes.post(
    "/{account_id}/users/{user_id}/deactivate",
    name="deactivate_user",
    summary="Deactivate a partner user",
)
async def deactivate_user(
    session: Session, principal: Writer, account_id: uuid.UUID, user_id: uuid.UUID
):
    """The user can no longer sign in and every token they hold stops working; their records
    stay shared with the partner."""
    return await service.deactivate_user(session, principal, account_id, user_id)


@user_routes.post(
    "/{account_id}/users/{user_id}/reactivate",
    name="reactivate_user",
    summary="Reactivate a partner user",
)
async def reactivate_user(
    session: Session, principal: Writer, account_id: uuid.UUID, user_id: uuid.UUID
):
    return await service.reactivate_user(session, principal, account_id, user_id)


# --- clients -------------------------------------------------------------------------------


@router.post(
    "/{account_id}/clients",
    name="create_client",
    summary="Register a partner system's OAuth client",
    status_code=201,
    response_model=admin_schemas.ApiClientWithSecret,
    responses=WRITE_ERRORS,
)
async def create_client(
    session: Session, principal: Writer, account_id: uuid.UUID, body: schemas.PartnerClientCreate
):
    """A `client_credentials` client bound to the partner account, for the partner's own
    systems: its tokens see what the partner's managers see and carry only the scopes granted
    here (at most the partner scopes). The secret is shown only in this response."""
    client, secret = await service.create_client(session, principal, account_id, body)
    return admin_service.client_with_secret(client, secret)


@router.get(
    "/{account_id}/clients",
    name="list_clients",
    summary="List a partner's OAuth clients",
    response_model=Page[admin_schemas.ApiClientOut],
    responses=READ_ERRORS,
)
async def list_clients(session: Session, principal: Reader, account_id: uuid.UUID, paging: Paging):
    rows, cursor = await service.list_clients(session, principal, account_id, paging)
    return {"data": [admin_service.client_view(c) for c in rows], "next_cursor": cursor}


@client_routes.post(
    "/{account_id}/clients/{client_id}/revoke",
    name="revoke_client",
    summary="Revoke a partner's OAuth client",
)
async def revoke_client(
    session: Session, principal: Writer, account_id: uuid.UUID, client_id: uuid.UUID
):
    """The client can no longer get tokens and every token it holds stops working."""
    client = await service.revoke_client(session, principal, account_id, client_id)
    return admin_service.client_view(client)
