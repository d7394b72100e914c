"""Administration API: users, roles, API clients, and ``/me``."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request

from app.admin import schemas, service
from app.auth.principal import CurrentPrincipal, Principal, require
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.pagination import Page, PageParams, page_params
from app.kit.routes import Routes
from app.kit.routing import Router
from app.models import User

ERRORS = problem_responses(401, 403, 422)
ITEM_ERRORS = problem_responses(401, 403, 404, 422)
CONFLICT_ERRORS = {**ERRORS, **problem_responses(409)}
ITEM_CONFLICT_ERRORS = {**ITEM_ERRORS, **problem_responses(409)}
READ = [require("users:read")]
ADMIN = [require("admin")]

users = Router(prefix="/api/v1/users", tags=["users"])
roles = Router(prefix="/api/v1/roles", tags=["roles"])
clients = Router(prefix="/api/v1/api-clients", tags=["api_clients"])
me = Router(prefix="/api/v1/me", tags=["me"])

Paging = Annotated[PageParams, Depends(page_params)]


# --- users -------------------------------------------------------------------------------

user_routes = Routes(
    users, response_model=schemas.UserOut, responses=ITEM_ERRORS, dependencies=ADMIN
)


@users.get(
    "",
    name="list",
    summary="List users",
    response_model=Page[schemas.UserOut],
    responses=ERRORS,
    dependencies=READ,
)
async def list_users(
    session: Session,
    paging: Paging,
    is_active: Annotated[bool | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200, description="Match email or name")] = None,
):
    """Users in creation order, a page at a time."""
    rows, cursor = await service.list_users(session, paging, is_active=is_active, q=q)
    return {"data": rows, "next_cursor": cursor}


@user_routes.post(
    "", name="create", summary="Create a user", status_code=201, responses=CONFLICT_ERRORS
)
async def create_user(session: Session, body: schemas.UserCreate):
    """Create an internal, partner or portal user. The password is hashed with argon2id."""
    return await service.create_user(session, body)


@user_routes.get("/{user_id}", name="get", summary="Get a user", dependencies=READ)
async def get_user(session: Session, user_id: uuid.UUID):
    return await service.get_user(session, user_id)


@user_routes.patch(
    "/{user_id}", name="update", summary="Update a user", responses=ITEM_CONFLICT_ERRORS
)
async def update_user(session: Session, user_id: uuid.UUID, body: schemas.UserUpdate):
    """Change a user. Setting a new password signs the user out everywhere."""
    user = await service.get_user(session, user_id)
    return await service.update_user(session, user, body)


@user_routes.post("/{user_id}/deactivate", name="deactivate", summary="Deactivate a user")
async def deactivate_user(session: Session, user_id: uuid.UUID):
    """The user can no longer sign in and every token they hold stops working; records stay."""
    user = await service.get_user(session, user_id)
    return await service.deactivate_user(session, user)


@user_routes.post("/{user_id}/reactivate", name="reactivate", summary="Reactivate a user")
async def reactivate_user(session: Session, user_id: uuid.UUID):
    user = await service.get_user(session, user_id)
    return await service.reactivate_user(session, user)


# --- roles -------------------------------------------------------------------------------

role_routes = Routes(
    roles, response_model=schemas.RoleOut, responses=ITEM_ERRORS, dependencies=ADMIN
)


@roles.get(
    "",
    name="list",
    summary="List roles",
    response_model=Page[schemas.RoleOut],
    responses=ERRORS,
    dependencies=READ,
)
async def list_roles(session: Session, paging: Paging):
    """The role hierarchy: each role names its parent."""
    rows, cursor = await service.list_roles(session, paging)
    return {"data": rows, "next_cursor": cursor}


@role_routes.post(
    "", name="create", summary="Create a role", status_code=201, responses=CONFLICT_ERRORS
)
async def create_role(session: Session, body: schemas.RoleCreate):
    return await service.create_role(session, body)


@role_routes.get("/{role_id}", name="get", summary="Get a role", dependencies=READ)
async def get_role(session: Session, role_id: uuid.UUID):
    return await service.get_role(session, role_id)


@role_routes.patch(
    "/{role_id}", name="update", summary="Update a role", responses=ITEM_CONFLICT_ERRORS
)
async def update_role(session: Session, role_id: uuid.UUID, body: schemas.RoleUpdate):
    """Rename a role or move it in the hierarchy; a move that would make a cycle is refused."""
    role = await service.get_role(session, role_id)
    return await service.update_role(session, role, body)


@roles.delete(
    "/{role_id}",
    name="delete",
    summary="Delete a role",
    status_code=204,
    responses=ITEM_CONFLICT_ERRORS,
    dependencies=ADMIN,
)
async def delete_role(session: Session, role_id: uuid.UUID) -> None:
    """Only a role with no users and no roles below it can be deleted."""
    role = await service.get_role(session, role_id)
    await service.delete_role(session, role)


# --- API clients -------------------------------------------------------------------------

client_routes = Routes(
    clients, response_model=schemas.ApiClientOut, responses=ITEM_ERRORS, dependencies=ADMIN
)


@client_routes.get(
    "",
    name="list",
    summary="List API clients",
    response_model=Page[schemas.ApiClientOut],
    responses=ERRORS,
)
async def list_clients(session: Session, paging: Paging):
    rows, cursor = await service.list_clients(session, paging)
    return {"data": [service.client_view(c) for c in rows], "next_cursor": cursor}


@clients.post(
    "",
    name="create",
    summary="Register an API client",
    status_code=201,
    response_model=schemas.ApiClientWithSecret,
    responses=ERRORS,
)
async def create_client(
    session: Session,
    body: schemas.ApiClientCreate,
    principal: Annotated[Principal, require("admin")],
):
    """Register an OAuth client. The response carries `client_secret`: it is shown only once."""
    client, secret = await service.create_client(session, body, principal.user_id)
    return service.client_with_secret(client, secret)


@client_routes.get("/{client_pk}", name="get", summary="Get an API client")
async def get_client(session: Session, client_pk: uuid.UUID):
    return service.client_view(await service.get_client(session, client_pk))


@client_routes.post(
    "/{client_pk}/rotate-secret",
    name="rotate_secret",
    summary="Rotate a client's secret",
    response_model=schemas.ApiClientWithSecret,
    responses=ITEM_CONFLICT_ERRORS,
)
async def rotate_secret(session: Session, client_pk: uuid.UUID):
    """Issue a new secret; the old one stops working at once. Tokens already issued stay valid."""
    client = await service.get_client(session, client_pk)
    secret = await service.rotate_client_secret(session, client)
    return service.client_with_secret(client, secret)


@client_routes.post("/{client_pk}/revoke", name="revoke", summary="Revoke an API client")
async def revoke_client(session: Session, client_pk: uuid.UUID):
    """The client can get no more tokens and every token it holds stops working."""
    client = await service.get_client(session, client_pk)
    return service.client_view(await service.revoke_client(session, client))


# --- me ----------------------------------------------------------------------------------


@me.get("", name="get", summary="Who am I", response_model=schemas.Me, responses=ERRORS)
async def get_me(request: Request, session: Session, principal: CurrentPrincipal):
    """The caller as the service sees it: principal kind, client, granted scopes and user."""
    user = await session.get(User, principal.user_id) if principal.user_id else None
    return schemas.Me(
        kind=principal.kind.value,
        client_id=principal.client_id,
        scopes=sorted(principal.scopes),
        user=schemas.UserOut.model_validate(user) if user else None,
    )
