"""Matching a case against the criteria of an assignment or escalation rule entry."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Account

PLAIN = ("type", "origin", "priority", "reason")


async def account_tier(session: AsyncSession, case: Any) -> str | None:
    """The partner tier of the case's account, else of the partner that submitted it."""
    ids = [x for x in (case.account_id, case.partner_account_id) if x is not None]
    if not ids:
        return None
    rows = dict(
        (
            await session.execute(
                select(Account.id, Account.partner_tier).where(Account.id.in_(ids))
            )
        ).all()
    )
    for i in ids:
        if rows.get(i) is not None:
            return str(rows[i].value if hasattr(rows[i], "value") else rows[i])
    return None


def _language(value: str | None, wanted: list[str]) -> bool:
    if value is None:
        return False
    lang = value.lower()
    return any(lang == w.lower() or lang.startswith(w.lower() + "-") for w in wanted)


def matches(criteria: dict[str, Any] | None, case: Any, tier: str | None) -> bool:
    """Every criterion given holds (a value in its list); none given: a catch-all."""
    c = criteria or {}
    for name in PLAIN:
        wanted = c.get(name)
        if wanted is not None and getattr(case, name) not in wanted:
            return False
    if c.get("account_tier") is not None and tier not in c["account_tier"]:
        return False
    products = c.get("product_id")
    if products is not None and (case.product_id is None or str(case.product_id) not in products):
        return False
    languages = c.get("language")
    return languages is None or _language(case.language, languages)
