"""The merge context of a template: plain data only, built from the API representation of the
records (what `GET /api/v1/<object>/{id}` answers), never ORM objects.

Every context has the same shape: ``lead``, ``contact``, ``account``, ``opportunity`` (each with
every field of the object, empty when the send has no such record) and ``user`` (the sender).
So a template that renders against the sample data when it is saved finds every merge field it
names at send time too, whatever record it is sent from. Related records come through the
caller's record access: a contact's account the sender cannot see merges as empty.
"""

import uuid
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.repository import records as accounts
from app.auth.principal import Principal
from app.contacts.repository import records as contacts
from app.customfields import values as custom_fields
from app.email import rendering
from app.kit import output
from app.kit.errors import ValidationFailed
from app.kit.resource import Records
from app.leads.repository import records as leads
from app.models import Account, User
from app.opportunities.repository import records as opportunities

RECORDS: dict[str, Records] = {
    "lead": leads,
    "contact": contacts,
    "account": accounts,
    "opportunity": opportunities,
}
# Merged alongside a record: the account of a contact or an opportunity.
WITH_ACCOUNT = ("contact", "opportunity")


async def _custom(session: AsyncSession, kind: str) -> list[str]:
    return list((await custom_fields.definitions(session, RECORDS[kind].r.name)).fields)


async def base(session: AsyncSession, *, sample: bool = False) -> dict[str, Any]:
    """Every merge object, blank (or with made-up values of each field's type: ``sample``)."""
    ctx: dict[str, Any] = {}
    for kind, records in RECORDS.items():
        custom = await _custom(session, kind)
        make = rendering.specimen if sample else rendering.blank
        ctx[kind] = rendering.with_name(kind, make(records.r.out, custom))
    if sample:
        ctx["user"] = {"id": str(uuid.UUID(int=0)), "name": "text", "email": "user@example.com"}
    else:
        ctx["user"] = {"id": "", "name": "", "email": ""}
    return ctx


async def sender(session: AsyncSession, user_id: uuid.UUID | None) -> dict[str, Any]:
    if user_id is None:
        return {"id": "", "name": "", "email": ""}
    row = (await session.execute(select(User.name, User.email).where(User.id == user_id))).first()
    if row is None:
        return {"id": "", "name": "", "email": ""}
    return {"id": str(user_id), "name": row.name, "email": row.email}


async def api_dicts(session: AsyncSession, kind: str, rows: list) -> list[dict[str, Any]]:
    """Rows (ORM objects or column dicts) as their API representation, in plain JSON types."""
    items = orjson.loads(output.to_json(await RECORDS[kind].dump(session, rows)))
    return [rendering.with_name(kind, item) for item in items]


async def contexts(
    session: AsyncSession, principal: Principal, kind: str | None, rows: list
) -> list[dict[str, Any]]:
    """One context per record of ``kind`` (rows as column dicts); with no kind, one blank
    context with the sender."""
    common = await base(session)
    common["user"] = await sender(session, principal.user_id)
    if kind is None:
        return [rendering.plain(common)]
    records = await api_dicts(session, kind, rows)
    related: dict[Any, dict[str, Any]] = {}
    if kind in WITH_ACCOUNT:
        ids = {r["account_id"] for r in records if r.get("account_id")}
        if ids:
            stmt = accounts.visible(principal, rows=True).where(
                Account.id.in_([uuid.UUID(i) for i in ids])
            )
            result = await session.execute(stmt)
            names = tuple(result.keys())
            found = [dict(zip(names, row, strict=True)) for row in result.all()]
            related = {a["id"]: a for a in await api_dicts(session, "account", found)}
    out = []
    for record in records:
        ctx = dict(common)
        ctx[kind] = record
        account = related.get(record.get("account_id"))
        if account is not None:
            ctx["account"] = account
        out.append(rendering.plain(ctx))
    return out


async def render_one(
    session: AsyncSession,
    principal: Principal,
    parts: dict[str, str | None],
    kind: str | None,
    row: dict | None,
) -> rendering.Rendered:
    """Render ``parts`` with the merge data of one record (a column dict the caller may read)
    or of none; a template that fails is a 422 naming the part."""
    ctx = await contexts(
        session, principal, kind if row is not None else None, [row] if row else []
    )
    (result,) = await rendering.pool().render(parts, ctx)
    if isinstance(result, rendering.RenderFailed):
        raise template_error(result.part, result.message)
    return result


def template_error(part: str, message: str) -> ValidationFailed:
    field = part or "template"
    return ValidationFailed(
        f"The template cannot be rendered: {message}",
        code="invalid_template",
        errors=[{"field": field, "code": "invalid_template", "message": message}],
    )


async def check(session: AsyncSession, pool: rendering.RenderPool, parts: dict) -> None:
    """Render ``parts`` against sample data: a template that fails here (syntax, an unknown
    merge field, reaching outside its data, too long, too slow) is refused with a 422."""
    parts = {k: v for k, v in parts.items() if v is not None}
    if not parts:
        return
    sample = rendering.plain(await base(session, sample=True))
    (result,) = await pool.render(parts, [sample])
    if isinstance(result, rendering.RenderFailed):
        raise template_error(result.part, result.message)


__all__ = [
    "RECORDS",
    "api_dicts",
    "base",
    "check",
    "contexts",
    "render_one",
    "sender",
    "template_error",
]
