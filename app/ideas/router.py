"""Ideas over HTTP: post, list, read and change ideas; vote once; comment; administrators set
the status."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response

from app.auth.principal import Principal, require
from app.ideas import schemas, service
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.pagination import MAX_LIMIT, PageParams, page_params
from app.kit.routes import Routes
from app.kit.routing import Router
from app.models.ideas import IdeaStatus

router = Router(prefix="/api/v1/ideas", tags=["ideas"])
Reader = Annotated[Principal, require("ideas:read")]
Writer = Annotated[Principal, require("ideas:write")]
Admin = Annotated[Principal, require("admin")]
CHANGE_ERRORS = problem_responses(401, 403, 404, 409, 422)
# The routes that answer one idea; a change may be refused by the idea's state (409).
idea_routes = Routes(router, response_model=schemas.Idea, responses=CHANGE_ERRORS)


@router.get(
    "",
    name="list",
    summary="List ideas",
    response_model=schemas.IdeaPage,
    responses=problem_responses(400, 401, 403, 422),
)
async def list_(
    session: Session,
    principal: Reader,
    sort: Annotated[
        str | None,
        Query(
            description="`-score` (most votes first, the default) or `-created_at` (newest "
            "first); also `score`, `created_at`"
        ),
    ] = None,
    status: IdeaStatus | None = None,
    category: Annotated[str | None, Query(max_length=80)] = None,
    author_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query()] = None,
):
    """Every idea of the community, with its score and the caller's own vote."""
    ideas, nxt = await service.find(
        session,
        principal,
        sort=sort,
        status=status,
        category=category,
        author_id=author_id,
        limit=limit,
        cursor=cursor,
    )
    return schemas.IdeaPage(data=ideas, next_cursor=nxt)


@router.post(
    "",
    name="create",
    summary="Post an idea",
    status_code=201,
    response_model=schemas.Idea,
    responses=problem_responses(401, 403, 422),
)
async def create(session: Session, principal: Writer, body: schemas.IdeaCreate, response: Response):
    """Internal, partner and portal users post ideas; the author's up vote is cast at once
    (as in Salesforce Ideas), so a new idea starts with a score of 1."""
    idea = await service.post(session, principal, body)
    response.headers["Location"] = f"/api/v1/ideas/{idea.id}"
    return idea


@idea_routes.get(
    "/{idea_id}", name="get", summary="Get an idea", responses=problem_responses(401, 403, 404, 422)
)
async def get(session: Session, principal: Reader, idea_id: uuid.UUID):
    return await service.get(session, principal, idea_id)


@idea_routes.patch("/{idea_id}", name="update", summary="Change an idea")
async def update(session: Session, principal: Writer, idea_id: uuid.UUID, body: schemas.IdeaUpdate):
    """The author changes the title, body or category while the idea is `new` (409 after);
    administrators at any time."""
    return await service.change(session, principal, idea_id, body)


@idea_routes.post(
    "/{idea_id}/vote",
    name="vote",
    summary="Vote on an idea",
    status_code=201,
    responses={200: {"description": "Vote changed"}, **CHANGE_ERRORS},
)
async def vote(
    session: Session,
    principal: Writer,
    idea_id: uuid.UUID,
    response: Response,
    body: schemas.IdeaVote | None = None,
):
    """One vote per user: the first is recorded (201); a vote in the other direction replaces
    it (200); the same vote again is a 409 `already_voted`. Votes on a delivered or not planned
    idea are a 409 `idea_closed`. Answers the idea with its new score."""
    direction = (body or schemas.IdeaVote()).direction
    idea, created = await service.vote(session, principal, idea_id, direction)
    if not created:
        response.status_code = 200
    return idea


@router.delete(
    "/{idea_id}/vote",
    name="withdraw_vote",
    summary="Withdraw a vote",
    status_code=204,
    responses=problem_responses(401, 403, 404, 409),
)
async def withdraw_vote(session: Session, principal: Writer, idea_id: uuid.UUID) -> None:
    """Takes the caller's vote back (404 `no_vote` when there is none)."""
    await service.withdraw(session, principal, idea_id)


@idea_routes.post("/{idea_id}/status", name="set_status", summary="Set the status of an idea")
async def set_status(
    session: Session, principal: Admin, idea_id: uuid.UUID, body: schemas.IdeaStatusChange
):
    """Administrators only (scope `admin`). new -> under_review | planned | not_planned |
    delivered; under_review -> planned | not_planned | delivered; planned -> delivered |
    not_planned | under_review; not_planned -> under_review; delivered is final. Other moves
    are a 409 `invalid_state_transition`. An optional `comment` is posted on the idea; the
    author is notified."""
    return await service.set_status(session, principal, idea_id, body)


@router.get(
    "/{idea_id}/comments",
    name="list_comments",
    summary="List the comments on an idea",
    response_model=schemas.IdeaCommentPage,
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def list_comments(
    session: Session,
    principal: Reader,
    idea_id: uuid.UUID,
    paging: Annotated[PageParams, Depends(page_params)],
):
    """Oldest first."""
    rows, nxt = await service.comments(session, idea_id, paging)
    return schemas.IdeaCommentPage(data=rows, next_cursor=nxt)


@router.post(
    "/{idea_id}/comments",
    name="create_comment",
    summary="Comment on an idea",
    status_code=201,
    response_model=schemas.IdeaComment,
    responses=problem_responses(401, 403, 404, 422),
)
async def create_comment(
    session: Session, principal: Writer, idea_id: uuid.UUID, body: schemas.IdeaCommentCreate
):
    """The idea's author is notified."""
    return await service.comment(session, principal, idea_id, body.body)


@router.delete(
    "/{idea_id}/comments/{comment_id}",
    name="delete_comment",
    summary="Remove a comment",
    status_code=204,
    responses=problem_responses(401, 403, 404),
)
async def delete_comment(
    session: Session, principal: Writer, idea_id: uuid.UUID, comment_id: uuid.UUID
) -> None:
    """Its author, or an administrator moderating."""
    await service.delete_comment(session, principal, idea_id, comment_id)
