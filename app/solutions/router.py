"""Solutions over HTTP: the standard operations (app/solutions/repository.py), the life cycle
steps, full-text search and suggestions, and the category tree (administrators)."""

import uuid
from functools import partial
from typing import Annotated

from fastapi import Depends, Query

from app.auth.principal import Principal, require
from app.kit.actions import Actions
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.pagination import PageParams, page_params
from app.kit.resource import build_router
from app.kit.routing import Router
from app.models.solutions import SolutionStatus
from app.solutions import schemas, service
from app.solutions.repository import solutions

__all__ = ["categories_router", "router", "routers", "search_router"]

router = build_router(solutions)

Reader = Annotated[Principal, require("solutions:read")]
Writer = Annotated[Principal, require("solutions:write")]
Admin = Annotated[Principal, require("admin")]
STEP_ERRORS = problem_responses(401, 403, 404, 409, 422)

# Mounted before the resource's router, so /search is not taken for a record id.
search_router = Router(prefix="/api/v1/solutions", tags=["solutions"])


@search_router.get(
    "/search",
    name="search",
    summary="Search solutions",
    response_model=schemas.SolutionSearchPage,
    responses=problem_responses(400, 401, 403, 422),
)
async def search(
    session: Session,
    principal: Reader,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            description='What to look for, as in a web search engine: words, "a phrase", '
            "`or`, `-word` to exclude",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    category_id: Annotated[
        uuid.UUID | None, Query(description="Only this category and those below it")
    ] = None,
    language: Annotated[str | None, Query(max_length=10)] = None,
    status: SolutionStatus | None = None,
):
    """Full-text search over titles (weighted higher) and bodies, best matches first, with the
    matched words highlighted. Internal users search every solution they may read; partners
    and portal users only published public ones."""
    hits, nxt = await service.search(
        session,
        principal,
        q,
        limit=limit,
        cursor=cursor,
        category_id=category_id,
        language=language,
        status=status,
    )
    return schemas.SolutionSearchPage(data=hits, next_cursor=nxt)


@search_router.post(
    "/suggest",
    name="suggest",
    summary="Suggest solutions for a case",
    response_model=schemas.SolutionSuggestions,
    responses=problem_responses(401, 403, 422),
)
async def suggest(session: Session, principal: Reader, body: schemas.SolutionSuggest):
    """Published solutions relevant to a case's subject and description (what case creation
    shows as suggested solutions), best first. Changes nothing."""
    text = f"{body.subject}\n{body.description}"
    return schemas.SolutionSuggestions(
        data=await service.suggest(session, principal, text, body.limit)
    )


# The life cycle steps, one ``POST /{record_id}/<step>`` each.
steps = Actions(router, solutions, responses=STEP_ERRORS, response_model=schemas.Solution)
for step, summary, doc in (
    ("review", "Mark a solution reviewed", "A draft has been checked and is ready to publish."),
    (
        "publish",
        "Publish a solution",
        """A draft, reviewed or archived solution goes live: searchable by every internal user,
        suggested on cases and, when `is_public`, visible to partners and portal users. A solution
        that is already published is a 409.""",
    ),
    (
        "archive",
        "Archive a solution",
        """A published solution is withdrawn: no longer suggested nor shown outside the company.
        It can be published again. Only published solutions can be archived (409 otherwise).""",
    ),
):
    steps.add(step, partial(service.transition, action=step), Writer, summary, doc=doc)


# --- categories ----------------------------------------------------------------------------

categories_router = Router(prefix="/api/v1/solution-categories", tags=["solution_categories"])


@categories_router.get(
    "",
    name="list",
    summary="List solution categories",
    response_model=schemas.SolutionCategoryPage,
    responses=problem_responses(400, 401, 403, 422),
)
async def list_categories(
    session: Session,
    principal: Reader,
    paging: Annotated[PageParams, Depends(page_params)],
    parent_id: Annotated[uuid.UUID | None, Query(description="Only those right below")] = None,
):
    """The category tree as a flat list (each with its `parent_id`), in creation order."""
    rows, nxt = await service.list_categories(session, paging, parent_id)
    return {"data": [schemas.SolutionCategory.model_validate(r) for r in rows], "next_cursor": nxt}


@categories_router.get(
    "/{category_id}",
    name="get",
    summary="Get a solution category",
    response_model=schemas.SolutionCategory,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_category(session: Session, principal: Reader, category_id: uuid.UUID):
    return await service.get_category(session, category_id)


@categories_router.post(
    "",
    name="create",
    summary="Create a solution category",
    status_code=201,
    response_model=schemas.SolutionCategory,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_category(session: Session, principal: Admin, body: schemas.SolutionCategoryCreate):
    """Administrators only. Names are unique among the categories of one parent (409)."""
    return await service.create_category(session, body)


@categories_router.patch(
    "/{category_id}",
    name="update",
    summary="Update a solution category",
    response_model=schemas.SolutionCategory,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_category(
    session: Session,
    principal: Admin,
    category_id: uuid.UUID,
    body: schemas.SolutionCategoryUpdate,
):
    """Rename or move a category (administrators). A category cannot move below itself (422)."""
    return await service.update_category(session, category_id, body)


@categories_router.delete(
    "/{category_id}",
    name="delete",
    summary="Delete a solution category",
    status_code=204,
    responses=problem_responses(401, 403, 404, 409),
)
async def delete_category(session: Session, principal: Admin, category_id: uuid.UUID) -> None:
    """Administrators only; a category with sub-categories or solutions is a 409
    `category_in_use`."""
    await service.delete_category(session, category_id)


# In this order: /solutions/search before /solutions/{record_id}.
routers = (search_router, router, categories_router)
