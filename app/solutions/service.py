"""Solution workflows and search: the life cycle steps, full-text search, suggested solutions
for a case, the usage counter, and the administrators' category tree.

Search runs in PostgreSQL over ``solutions.search_vector`` (a generated tsvector column, title
weighted A, body B, GIN-indexed): ``websearch_to_tsquery`` parses what people type (quoted
phrases, ``or``, ``-word``), ``ts_rank_cd`` ranks, ``ts_headline`` marks the matches, computed
only for the rows of the page. Every query starts from the caller's record access, so partners
and portal users only ever match published public solutions.
"""

import html
import uuid
from typing import Any

from sqlalchemy import (
    Float,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.auth.principal import Principal
from app.kit import clock
from app.kit.errors import BadRequest, Conflict, NotFound
from app.kit.pagination import PageParams, by_id, decode_cursor, encode_cursor, page_of
from app.kit.resource import invalid
from app.models.solutions import Solution, SolutionCategory, SolutionStatus
from app.solutions import policies, schemas
from app.solutions.repository import solutions

for _verb in ("reviewed", "published", "archived"):
    events.declare(f"solution.{_verb}", f"A solution was {_verb}")

CONFIG = "english"  # the text search configuration of the generated column
# Markers ts_headline puts around matches: private-use characters, so that the extract can be
# HTML-escaped first and the markers turned into <mark> tags after.
_START, _STOP = "\ue000", "\ue001"
_SNIPPET = (
    f"StartSel={_START}, StopSel={_STOP}, MaxWords=35, MinWords=15, ShortWord=3, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)
_WHOLE = f"StartSel={_START}, StopSel={_STOP}, HighlightAll=true"
# Words of a case's text used for suggestions, most frequent first.
SUGGEST_TERMS = 32


def _config():
    return literal(CONFIG, type_=REGCONFIG)


def _marked(text: str | None) -> str:
    """HTML-escape a ts_headline extract and turn its markers into <mark> tags."""
    escaped = html.escape(text or "", quote=False)
    return escaped.replace(_START, "<mark>").replace(_STOP, "</mark>")


# --- life cycle ------------------------------------------------------------------------------


async def transition(
    session: AsyncSession, principal: Principal, record_id: uuid.UUID, action: str
) -> Solution:
    """One step of the life cycle. The row is locked, so of two concurrent steps from the same
    state one wins and the other sees the new state (409)."""
    row: Solution = await solutions.lock_for_write(session, principal, record_id)
    to = policies.target(action, row.status)
    values: dict[str, Any] = {"status": to}
    if to == SolutionStatus.published:
        values["published_at"] = clock.now()
    await solutions.change(session, principal, row, values)
    await events.emit(
        session,
        f"solution.{to.value}",
        "solutions",
        row.id,
        {"title": row.title, "is_public": row.is_public},
        actor_id=principal.user_id,
    )
    return row


async def record_use(session: AsyncSession, solution_id: uuid.UUID, delta: int = 1) -> int | None:
    """Count a use of a solution on a case (``delta=-1`` when the link is removed): one atomic
    UPDATE, so concurrent links never lose a count. Returns the new count (None: no such
    solution). For the case link; no access check here, the caller has done it."""
    return await session.scalar(
        update(Solution)
        .where(Solution.id == solution_id)
        .values(times_used=func.greatest(Solution.times_used + delta, 0))
        .returning(Solution.times_used)
    )


# --- search ----------------------------------------------------------------------------------


def _category_and_below(category_id: uuid.UUID):
    """Ids of a category and every category below it."""
    tree = (
        select(SolutionCategory.id)
        .where(SolutionCategory.id == category_id)
        .cte("category_tree", recursive=True)
    )
    tree = tree.union_all(
        select(SolutionCategory.id).where(SolutionCategory.parent_id == tree.c.id)
    )
    return select(tree.c.id)


async def search(
    session: AsyncSession,
    principal: Principal,
    q: str,
    *,
    limit: int,
    cursor: str | None,
    category_id: uuid.UUID | None = None,
    language: str | None = None,
    status: SolutionStatus | None = None,
) -> tuple[list[schemas.SolutionHit], str | None]:
    q = q.strip()
    if not q:
        raise invalid("q", "required", "Say what to search for")
    tsq = func.websearch_to_tsquery(_config(), q)
    rank = func.ts_rank_cd(Solution.search_vector, tsq)
    conditions = [solutions.readable(principal), Solution.search_vector.op("@@")(tsq)]
    if category_id is not None:
        conditions.append(Solution.category_id.in_(_category_and_below(category_id)))
    if language is not None:
        conditions.append(Solution.language == language)
    if status is not None:
        conditions.append(Solution.status == status)
    if cursor:
        values = decode_cursor(cursor)
        try:
            after_rank, after_id = float(values[0]), uuid.UUID(str(values[1]))
        except (ValueError, IndexError, TypeError) as exc:
            raise BadRequest("The cursor is not valid", code="invalid_cursor") from exc
        r = bindparam("after_rank", after_rank, type_=Float)
        conditions.append(or_(rank < r, and_(rank == r, Solution.id > after_id)))
    page = (
        select(Solution.id, rank.label("rank"))
        .where(*conditions)
        .order_by(rank.desc(), Solution.id)
        .limit(limit + 1)
        .subquery("page")
    )
    # Headlines are costly: computed for the page's rows only.
    stmt = (
        select(
            Solution.id,
            Solution.title,
            Solution.status,
            Solution.is_public,
            Solution.category_id,
            Solution.language,
            Solution.published_at,
            Solution.times_used,
            page.c.rank,
            func.ts_headline(_config(), Solution.title, tsq, _WHOLE).label("title_highlight"),
            func.ts_headline(_config(), Solution.body, tsq, _SNIPPET).label("snippet"),
        )
        .join(page, page.c.id == Solution.id)
        .order_by(page.c.rank.desc(), Solution.id)
    )
    rows = (await session.execute(stmt)).mappings().all()
    hits = [
        schemas.SolutionHit(
            **{k: v for k, v in row.items() if k not in ("title_highlight", "snippet")},
            title_highlight=_marked(row["title_highlight"]),
            snippet=_marked(row["snippet"]),
        )
        for row in rows
    ]
    if len(hits) > limit:
        hits = hits[:limit]
        return hits, encode_cursor([hits[-1].rank, str(hits[-1].id)])
    return hits, None


async def suggest(
    session: AsyncSession, principal: Principal, text: str, limit: int = 5
) -> list[schemas.SolutionSuggestion]:
    """Published solutions the principal may read that match ``text`` (a case's subject and
    description), best first. Any word may match (the most frequent words of the text, OR-ed),
    so a long description still finds articles that share only some of its words; ranking
    then prefers articles that share more of them, and, at equal rank, the most used."""
    text = (text or "").strip()[:32000]
    if not text:
        return []
    lexemes = (
        func.unnest(func.to_tsvector(_config(), text))
        .table_valued("lexeme", "positions", "weights")
        .render_derived(name="lexemes")
    )
    terms = (
        select(lexemes.c.lexeme)
        .order_by(func.cardinality(lexemes.c.positions).desc(), lexemes.c.lexeme)
        .limit(SUGGEST_TERMS)
        .subquery("terms")
    )
    query = select(
        cast(func.string_agg(func.quote_literal(terms.c.lexeme), " | "), TSQUERY).label("q")
    ).cte("query")
    rank = func.ts_rank_cd(Solution.search_vector, query.c.q)
    stmt = (
        select(
            Solution.id,
            Solution.title,
            Solution.times_used,
            rank.label("rank"),
            func.ts_headline(_config(), Solution.body, query.c.q, _SNIPPET).label("snippet"),
        )
        .select_from(Solution)
        .join(query, true())
        .where(
            solutions.readable(principal),
            Solution.status == SolutionStatus.published,
            Solution.search_vector.op("@@")(query.c.q),
        )
        .order_by(rank.desc(), Solution.times_used.desc(), Solution.id)
        .limit(limit)
    )
    rows = (await session.execute(stmt)).mappings().all()
    return [
        schemas.SolutionSuggestion(
            id=row["id"],
            title=row["title"],
            times_used=row["times_used"],
            rank=row["rank"],
            snippet=_marked(row["snippet"]),
        )
        for row in rows
    ]


# --- categories ------------------------------------------------------------------------------


async def list_categories(
    session: AsyncSession, params: PageParams, parent_id: uuid.UUID | None
) -> tuple[list[SolutionCategory], str | None]:
    stmt = select(SolutionCategory)
    if parent_id is not None:
        stmt = stmt.where(SolutionCategory.parent_id == parent_id)
    rows = (await session.scalars(by_id(stmt, SolutionCategory.id, params))).all()
    return page_of(list(rows), params)


async def get_category(session: AsyncSession, category_id: uuid.UUID) -> SolutionCategory:
    row = await session.get(SolutionCategory, category_id)
    if row is None:
        raise NotFound("No such solution category")
    return row


async def _check_parent(
    session: AsyncSession, parent_id: uuid.UUID, category_id: uuid.UUID | None
) -> None:
    """The parent exists and is not the category itself or one below it."""
    cursor: uuid.UUID | None = parent_id
    seen: set[uuid.UUID] = set()
    while cursor is not None and cursor not in seen:
        if cursor == category_id:
            raise invalid("parent_id", "cycle", "A category cannot be below itself")
        seen.add(cursor)
        parent = await session.get(SolutionCategory, cursor)
        if parent is None:
            raise invalid("parent_id", "not_found", "No such solution category")
        cursor = parent.parent_id


async def _name_free(
    session: AsyncSession, name: str, parent_id: uuid.UUID | None, category_id: uuid.UUID | None
) -> None:
    parent = (
        SolutionCategory.parent_id.is_(None)
        if parent_id is None
        else SolutionCategory.parent_id == parent_id
    )
    stmt = select(SolutionCategory.id).where(parent, SolutionCategory.name == name)
    if category_id is not None:
        stmt = stmt.where(SolutionCategory.id != category_id)
    if await session.scalar(stmt) is not None:
        raise Conflict(
            f"A category named '{name}' exists at this level already", code="duplicate_detected"
        )


async def create_category(
    session: AsyncSession, data: schemas.SolutionCategoryCreate
) -> SolutionCategory:
    if data.parent_id is not None:
        await _check_parent(session, data.parent_id, None)
    await _name_free(session, data.name, data.parent_id, None)
    row = SolutionCategory(**data.model_dump())
    session.add(row)
    await session.flush()
    return row


async def update_category(
    session: AsyncSession, category_id: uuid.UUID, data: schemas.SolutionCategoryUpdate
) -> SolutionCategory:
    row = await session.get(SolutionCategory, category_id, with_for_update=True)
    if row is None:
        raise NotFound("No such solution category")
    changes = data.model_dump(exclude_unset=True)
    for name in ("name", "sort_order"):
        if name in changes and changes[name] is None:
            raise invalid(name, "required", f"{name} cannot be null")
    if changes.get("parent_id") is not None:
        await _check_parent(session, changes["parent_id"], row.id)
    if "name" in changes or "parent_id" in changes:
        await _name_free(
            session,
            changes.get("name", row.name),
            changes.get("parent_id", row.parent_id) if "parent_id" in changes else row.parent_id,
            row.id,
        )
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = clock.now()
    await session.flush()
    return row


async def delete_category(session: AsyncSession, category_id: uuid.UUID) -> None:
    """Only an empty category goes: no categories below it and no solutions in it (including
    those in the recycle bin, which would come back to a missing category)."""
    row = await session.get(SolutionCategory, category_id, with_for_update=True)
    if row is None:
        raise NotFound("No such solution category")
    child = await session.scalar(
        select(SolutionCategory.id).where(SolutionCategory.parent_id == category_id).limit(1)
    )
    used = await session.scalar(
        select(Solution.id).where(Solution.category_id == category_id).limit(1)
    )
    if child is not None or used is not None:
        raise Conflict(
            "The category still has sub-categories or solutions; move them first",
            code="category_in_use",
        )
    await session.delete(row)
    await session.flush()
