"""All SQL of lead distribution: which offers a principal may see, locks, the rule targets."""

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import addressed_to, is_partner, made_by
from app.auth.principal import Principal
from app.kit.errors import NotFound
from app.leads.repository import records as leads
from app.models import Account, Lead, PartnerStatus, User, UserKind
from app.models.distribution import DistributionRule, LeadOffer, OfferStatus

CLOSED_PARTNER = (PartnerStatus.inactive, PartnerStatus.terminated)


def visible(principal: Principal) -> ColumnElement[bool]:
    """Offers the principal may see. A partner: those addressed to its partner account (an
    offer to one rep: that rep and the partner's managers only). The vendor: offers of leads it
    may read, and the offers it made itself (status feedback after the lead left it)."""
    if is_partner(principal):
        # Offers of a lead the vendor deleted drop out of the inbox.
        return and_(
            addressed_to(LeadOffer.partner_account_id, LeadOffer.partner_user_id, principal),
            exists().where(Lead.id == LeadOffer.lead_id, Lead.deleted_at.is_(None)),
        )
    lead_readable = exists().where(Lead.id == LeadOffer.lead_id, leads.readable(principal))
    return or_(made_by(LeadOffer.offered_by, principal), lead_readable)


async def get_visible(
    session: AsyncSession, principal: Principal, offer_id: uuid.UUID
) -> LeadOffer:
    offer = await session.scalar(
        select(LeadOffer).where(LeadOffer.id == offer_id, visible(principal))
    )
    if offer is None:
        raise NotFound("No such lead offer")
    return offer


async def lock_lead(session: AsyncSession, lead_id: uuid.UUID) -> Lead | None:
    """The lead's row lock serialises every transition of its offers."""
    return await session.scalar(
        select(Lead)
        .where(Lead.id == lead_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def lock_offer(session: AsyncSession, offer_id: uuid.UUID) -> LeadOffer | None:
    return await session.scalar(
        select(LeadOffer)
        .where(LeadOffer.id == offer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def offers_of_lead(
    session: AsyncSession, lead_id: uuid.UUID, statuses: Sequence[OfferStatus] | None = None
) -> list[LeadOffer]:
    stmt = select(LeadOffer).where(LeadOffer.lead_id == lead_id)
    if statuses is not None:
        stmt = stmt.where(LeadOffer.status.in_(list(statuses)))
    stmt = stmt.order_by(LeadOffer.id).execution_options(populate_existing=True)
    return list((await session.scalars(stmt)).all())


async def partners_who_had(session: AsyncSession, lead_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(LeadOffer.partner_account_id).where(LeadOffer.lead_id == lead_id).distinct()
    )
    return set(rows.all())


def _open_partner():
    return and_(
        Account.is_partner.is_(True),
        Account.deleted_at.is_(None),
        or_(Account.partner_status.is_(None), Account.partner_status.not_in(CLOSED_PARTNER)),
    )


async def open_partners(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` are enabled partner accounts that are not inactive or terminated."""
    if not ids:
        return set()
    rows = await session.scalars(
        select(Account.id).where(Account.id.in_(list(ids)), _open_partner())
    )
    return set(rows.all())


async def partner_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.scalar(
        select(User).where(
            User.id == user_id, User.kind == UserKind.partner, User.is_active.is_(True)
        )
    )


async def recipients(
    session: AsyncSession, partner_account_id: uuid.UUID, partner_user_id: uuid.UUID | None
) -> list[User]:
    """Who hears of an offer: the rep it is addressed to, or every active user of the partner."""
    stmt = select(User).where(
        User.kind == UserKind.partner,
        User.is_active.is_(True),
        User.partner_account_id == partner_account_id,
    )
    if partner_user_id is not None:
        stmt = stmt.where(User.id == partner_user_id)
    return list((await session.scalars(stmt.order_by(User.id))).all())


async def active_rules(session: AsyncSession) -> list[DistributionRule]:
    stmt = (
        select(DistributionRule)
        .where(DistributionRule.is_active.is_(True))
        .order_by(DistributionRule.sort_order, DistributionRule.id)
    )
    return list((await session.scalars(stmt)).all())


async def rule_targets(session: AsyncSession, rule: DistributionRule) -> list[uuid.UUID]:
    """The rule's partners in order: its listed partners (those of its tiers, when it names
    tiers), or without a list every active partner of its tiers, by name."""
    stmt = select(Account.id, Account.name).where(_open_partner())
    if rule.partner_tiers:
        stmt = stmt.where(Account.partner_tier.in_(list(rule.partner_tiers)))
    if rule.partner_account_ids:
        stmt = stmt.where(Account.id.in_(list(rule.partner_account_ids)))
        found = {row.id for row in (await session.execute(stmt)).all()}
        return [i for i in rule.partner_account_ids if i in found]
    if not rule.partner_tiers:
        return []
    stmt = stmt.where(
        or_(Account.partner_status.is_(None), Account.partner_status == PartnerStatus.active)
    ).order_by(func.lower(Account.name), Account.id)
    return [row.id for row in (await session.execute(stmt)).all()]
