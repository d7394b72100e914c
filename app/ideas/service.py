"""Ideas: posting, listing, voting, comments and the administrators' status.

Ideas are one community shared by every signed-in user (internal, partner and portal): anyone
with ``ideas:read`` reads every idea and comment, anyone with ``ideas:write`` acting as a user
posts, votes and comments. They are not owned business records, so they do not use the record
access of app/access nor the resource machinery (no owner, sharing or recycle bin).

Votes: one per user and idea, enforced by a unique constraint. The first vote is recorded
(201); a vote in the other direction changes it (200); the same vote again is a 409
``already_voted``; ``DELETE .../vote`` withdraws it. Tallies on the idea row change by atomic
``UPDATE ... SET score = score + :d`` in the same transaction, so concurrent votes never lose
or double a count. As in Salesforce Ideas, posting an idea casts the author's up vote.
"""

import uuid
from typing import Any

from sqlalchemy import and_, insert, null, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.auth.principal import Principal
from app.ideas import policies, schemas
from app.kit import clock, sorting
from app.kit.errors import Conflict, Forbidden, NotFound
from app.kit.ids import new_id
from app.kit.pagination import PageParams, by_id, decode_cursor, encode_cursor, page_of
from app.kit.resource import invalid
from app.models import User
from app.models.ideas import Idea, IdeaComment, IdeaStatus, IdeaVote
from app.notifications.service import notify

events.declare("idea.status_changed", "An administrator changed the status of an idea")

SORTABLE = {"score": Idea.score, "created_at": Idea.created_at}
_DIRECTIONS = {"up": 1, "down": -1}
_NAMES = {1: "up", -1: "down"}


def _user(principal: Principal) -> uuid.UUID:
    if principal.user_id is None:
        raise Forbidden("Ideas are posted, voted on and discussed by users", code="user_required")
    return principal.user_id


def _select(principal: Principal):
    """Ideas with their author's name and the caller's own vote."""
    if principal.user_id is None:
        mine: Any = null()
    else:
        mine = (
            select(IdeaVote.value)
            .where(IdeaVote.idea_id == Idea.id, IdeaVote.user_id == principal.user_id)
            .scalar_subquery()
        )
    return select(
        *Idea.__table__.columns, User.name.label("author_name"), mine.label("my_vote")
    ).join(User, User.id == Idea.author_id)


def _out(row) -> schemas.Idea:
    data = dict(row)
    data["my_vote"] = _NAMES.get(data["my_vote"])
    return schemas.Idea.model_validate(data)


async def get(session: AsyncSession, principal: Principal, idea_id: uuid.UUID) -> schemas.Idea:
    row = (await session.execute(_select(principal).where(Idea.id == idea_id))).mappings().first()
    if row is None:
        raise NotFound("No such idea")
    return _out(row)


async def find(
    session: AsyncSession,
    principal: Principal,
    *,
    sort: str | None,
    status: IdeaStatus | None,
    category: str | None,
    author_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[schemas.Idea], str | None]:
    keys = sorting.parse(sort or "-score", {**SORTABLE, "id": Idea.id}, Idea.id)
    stmt = _select(principal)
    if status is not None:
        stmt = stmt.where(Idea.status == status)
    if category is not None:
        stmt = stmt.where(Idea.category == category)
    if author_id is not None:
        stmt = stmt.where(Idea.author_id == author_id)
    if cursor:
        stmt = stmt.where(sorting.after_cursor(keys, decode_cursor(cursor)))
    stmt = sorting.order(stmt, keys).limit(limit + 1)
    rows = (await session.execute(stmt)).mappings().all()
    ideas = [_out(r) for r in rows]
    if len(ideas) > limit:
        ideas = ideas[:limit]
        last = ideas[-1].model_dump()
        return ideas, encode_cursor(sorting.cursor_values(last, keys))
    return ideas, None


async def post(
    session: AsyncSession, principal: Principal, data: schemas.IdeaCreate
) -> schemas.Idea:
    author = _user(principal)
    idea_id, now = new_id(), clock.now()
    await session.execute(
        insert(Idea).values(
            id=idea_id,
            **data.model_dump(),
            author_id=author,
            score=1,
            up_votes=1,
            created_at=now,
            updated_at=now,
        )
    )
    await session.execute(
        insert(IdeaVote).values(
            id=new_id(), idea_id=idea_id, user_id=author, value=1, created_at=now, updated_at=now
        )
    )
    return await get(session, principal, idea_id)


async def _locked(session: AsyncSession, idea_id: uuid.UUID) -> Idea:
    idea = await session.scalar(
        select(Idea)
        .where(Idea.id == idea_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if idea is None:
        raise NotFound("No such idea")
    return idea


async def change(
    session: AsyncSession, principal: Principal, idea_id: uuid.UUID, data: schemas.IdeaUpdate
) -> schemas.Idea:
    """Authors change their idea while it is new; administrators at any time."""
    user = _user(principal)
    idea = await _locked(session, idea_id)
    if not principal.is_admin:
        if idea.author_id != user:
            raise Forbidden("Only the author may change an idea", code="not_author")
        policies.check_editable(idea.status)
    values = data.model_dump(exclude_unset=True)
    for name in ("title", "body"):
        if name in values and values[name] is None:
            raise invalid(name, "required", f"{name} cannot be null")
    if values:
        await session.execute(
            update(Idea).where(Idea.id == idea_id).values(**values, updated_at=clock.now())
        )
    return await get(session, principal, idea_id)


async def _tally(session: AsyncSession, idea_id: uuid.UUID, up: int, down: int) -> None:
    """Move the idea's tallies by the given amounts: one atomic UPDATE (``updated_at`` stays:
    it tells of changes to the idea itself)."""
    await session.execute(
        update(Idea)
        .where(Idea.id == idea_id)
        .values(
            score=Idea.score + (up - down),
            up_votes=Idea.up_votes + up,
            down_votes=Idea.down_votes + down,
            updated_at=Idea.updated_at,
        )
    )


async def _open_idea(session: AsyncSession, idea_id: uuid.UUID) -> None:
    status = await session.scalar(select(Idea.status).where(Idea.id == idea_id))
    if status is None:
        raise NotFound("No such idea")
    policies.check_open(status)


async def vote(
    session: AsyncSession, principal: Principal, idea_id: uuid.UUID, direction: str
) -> tuple[schemas.Idea, bool]:
    """Record or change the caller's vote; returns the idea and whether the vote is new."""
    user = _user(principal)
    await _open_idea(session, idea_id)
    value, now = _DIRECTIONS[direction], clock.now()
    # The unique constraint decides a race: a concurrent second insert waits for the first to
    # commit, then does nothing and falls through to the change below.
    inserted = await session.scalar(
        pg_insert(IdeaVote)
        .values(
            id=new_id(), idea_id=idea_id, user_id=user, value=value, created_at=now, updated_at=now
        )
        .on_conflict_do_nothing(index_elements=["idea_id", "user_id"])
        .returning(IdeaVote.id)
    )
    if inserted is not None:
        await _tally(session, idea_id, int(value == 1), int(value == -1))
        return await get(session, principal, idea_id), True
    # Only a vote in the other direction changes (re-checked under the row lock the UPDATE
    # takes, so two concurrent changes act once).
    changed = await session.scalar(
        update(IdeaVote)
        .where(IdeaVote.idea_id == idea_id, IdeaVote.user_id == user, IdeaVote.value == -value)
        .values(value=value, updated_at=now)
        .returning(IdeaVote.id)
    )
    if changed is None:
        raise Conflict(f"You have voted {direction} on this idea already", code="already_voted")
    await _tally(session, idea_id, value, -value)
    return await get(session, principal, idea_id), False


async def withdraw(session: AsyncSession, principal: Principal, idea_id: uuid.UUID) -> None:
    user = _user(principal)
    await _open_idea(session, idea_id)
    value = await session.scalar(
        IdeaVote.__table__.delete()
        .where(IdeaVote.idea_id == idea_id, IdeaVote.user_id == user)
        .returning(IdeaVote.value)
    )
    if value is None:
        raise NotFound("You have not voted on this idea", code="no_vote")
    await _tally(session, idea_id, -int(value == 1), -int(value == -1))


async def set_status(
    session: AsyncSession, principal: Principal, idea_id: uuid.UUID, body: schemas.IdeaStatusChange
) -> schemas.Idea:
    """Administrators move an idea through its workflow (the row is locked, so two concurrent
    changes from the same status act once); the author is notified."""
    idea = await _locked(session, idea_id)
    before = idea.status
    policies.check_transition(before, body.status)
    now = clock.now()
    idea.status = body.status
    idea.status_changed_at = now
    idea.status_changed_by = principal.user_id
    idea.updated_at = now
    await session.flush()
    if body.comment:
        await _add_comment(session, idea_id, _user(principal), body.comment)
    await events.emit(
        session,
        "idea.status_changed",
        "ideas",
        idea_id,
        {"from": before.value, "to": body.status.value},
        actor_id=principal.user_id,
    )
    if idea.author_id != principal.user_id:
        await notify(
            session,
            idea.author_id,
            kind="idea.status_changed",
            title=f"Your idea '{idea.title}' is now {body.status.value.replace('_', ' ')}",
            body=body.comment or "",
            link=f"/api/v1/ideas/{idea_id}",
            object_type="ideas",
            record_id=idea_id,
        )
    return await get(session, principal, idea_id)


# --- comments --------------------------------------------------------------------------------


async def _add_comment(
    session: AsyncSession, idea_id: uuid.UUID, author: uuid.UUID, body: str
) -> uuid.UUID:
    comment_id, now = new_id(), clock.now()
    await session.execute(
        insert(IdeaComment).values(
            id=comment_id,
            idea_id=idea_id,
            author_id=author,
            body=body,
            created_at=now,
            updated_at=now,
        )
    )
    await session.execute(
        update(Idea)
        .where(Idea.id == idea_id)
        .values(comment_count=Idea.comment_count + 1, updated_at=Idea.updated_at)
    )
    return comment_id


def _comments():
    return select(
        IdeaComment.id,
        IdeaComment.idea_id,
        IdeaComment.author_id,
        User.name.label("author_name"),
        IdeaComment.body,
        IdeaComment.created_at,
    ).join(User, User.id == IdeaComment.author_id)


async def comment(
    session: AsyncSession, principal: Principal, idea_id: uuid.UUID, body: str
) -> schemas.IdeaComment:
    author = _user(principal)
    idea = await session.scalar(select(Idea).where(Idea.id == idea_id))
    if idea is None:
        raise NotFound("No such idea")
    comment_id = await _add_comment(session, idea_id, author, body)
    if idea.author_id != author:
        await notify(
            session,
            idea.author_id,
            kind="idea.commented",
            title=f"New comment on your idea '{idea.title}'",
            body=body[:500],
            link=f"/api/v1/ideas/{idea_id}/comments",
            object_type="ideas",
            record_id=idea_id,
        )
    row = (await session.execute(_comments().where(IdeaComment.id == comment_id))).mappings().one()
    return schemas.IdeaComment.model_validate(dict(row))


async def comments(
    session: AsyncSession, idea_id: uuid.UUID, params: PageParams
) -> tuple[list[schemas.IdeaComment], str | None]:
    if await session.scalar(select(Idea.id).where(Idea.id == idea_id)) is None:
        raise NotFound("No such idea")
    stmt = by_id(_comments().where(IdeaComment.idea_id == idea_id), IdeaComment.id, params)
    rows = [
        schemas.IdeaComment.model_validate(dict(r))
        for r in (await session.execute(stmt)).mappings()
    ]
    return page_of(rows, params)


async def delete_comment(
    session: AsyncSession, principal: Principal, idea_id: uuid.UUID, comment_id: uuid.UUID
) -> None:
    """Authors remove their own comments; administrators any (moderation)."""
    user = _user(principal)
    conditions = [IdeaComment.id == comment_id, IdeaComment.idea_id == idea_id]
    author = await session.scalar(select(IdeaComment.author_id).where(*conditions))
    if author is None:
        raise NotFound("No such comment")
    if author != user and not principal.is_admin:
        raise Forbidden(
            "Only its author or an administrator may remove a comment", code="not_author"
        )
    deleted = await session.scalar(
        IdeaComment.__table__.delete().where(and_(*conditions)).returning(IdeaComment.id)
    )
    if deleted is not None:
        await session.execute(
            update(Idea)
            .where(Idea.id == idea_id)
            .values(comment_count=Idea.comment_count - 1, updated_at=Idea.updated_at)
        )


__all__ = [
    "change",
    "comment",
    "comments",
    "delete_comment",
    "find",
    "get",
    "post",
    "set_status",
    "vote",
    "withdraw",
]
