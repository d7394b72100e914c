"""Lead distribution: offers to partners, the lead inbox, acceptance (the first of a shark tank
wins, exactly once), declines, withdrawal, extension, claw-back and redistribution by rule.

Every transition locks the lead's row first (``repository.lock_lead``), then the offer, so the
transitions of one lead's offers happen one at a time and each offer is closed exactly once.
Nothing here commits: the request (or the claw-back job's session) does.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events, jobs
from app.access import is_partner, partner_wide
from app.auth.principal import Principal
from app.config import get_settings
from app.distribution import policies, repository, schemas
from app.email.service import queue_notice
from app.kit import clock
from app.kit.errors import Conflict, Forbidden, InvalidStateTransition, NotFound
from app.kit.ids import new_id
from app.kit.pagination import decode_cursor, encode_cursor
from app.kit.resource import invalid
from app.leads.repository import records as leads
from app.models import Lead
from app.models.distribution import DistributionRule, LeadOffer, OfferMode, OfferStatus, OnExpiry
from app.notifications.service import notify

EXPIRE_TASK = "distribution.expire"

OFFERED = events.declare("lead_offer.created", "A lead was offered to a partner")
ACCEPTED = events.declare("lead_offer.accepted", "A partner accepted a lead offer")
DECLINED = events.declare("lead_offer.declined", "A partner declined a lead offer")
EXPIRED = events.declare(
    "lead_offer.expired", "A lead offer's time limit passed without an answer (claw-back)"
)
EXTENDED = events.declare("lead_offer.extended", "A lead offer's time limit was extended")
WITHDRAWN = events.declare("lead_offer.withdrawn", "The vendor withdrew a lead offer")
TAKEN = events.declare("lead_offer.taken", "Another partner accepted the lead first")
RETURNED = events.declare(
    "lead.distribution_ended", "No partner took the lead: it is back with the vendor"
)

# The lead's fields a partner sees before accepting (the documented held-back subset).
SUMMARY_FIELDS = tuple(schemas.LeadSummary.model_fields)
# An inbox offer is the offer's columns of the same names, and its lead's summary.
INBOX_FIELDS = tuple(f for f in schemas.InboxOffer.model_fields if f != "lead")


# --- building offers -----------------------------------------------------------------------


async def _emit(
    session: AsyncSession, event: str, offer: LeadOffer, actor: uuid.UUID | None, **data: Any
) -> None:
    # On the lead (object type ``leads``), so subscribers need leads:read, as for lead events.
    await events.emit(
        session,
        event,
        "leads",
        offer.lead_id,
        {
            "offer_id": str(offer.id),
            "partner_account_id": str(offer.partner_account_id),
            "distribution_id": str(offer.distribution_id),
            "status": offer.status.value,
            **{k: str(v) for k, v in data.items() if v is not None},
        },
        actor_id=actor,
    )


async def _tell_partner(
    session: AsyncSession,
    offer: LeadOffer,
    lead: Lead,
    kind: str,
    title: str,
    body: str,
    *,
    email: bool = False,
) -> None:
    """In-app notification (and, for a new offer, an email) to the partner's people."""
    people = await repository.recipients(session, offer.partner_account_id, offer.partner_user_id)
    link = f"/api/v1/lead-inbox/{offer.id}"
    for user in people:
        await notify(
            session,
            user.id,
            kind=kind,
            title=title,
            body=body,
            link=link,
            object_type="lead_offers",
            record_id=offer.id,
        )
    if not email or not people:
        return
    settings = get_settings()
    await queue_notice(
        session,
        settings,
        [(user.email, user.name) for user in people],
        subject=title,
        text=f"{body}\n\nOpen your lead inbox: {settings.public_url.rstrip('/')}{link}\n",
    )


async def _tell_vendor(
    session: AsyncSession, offer: LeadOffer, kind: str, title: str, body: str = ""
) -> None:
    if offer.offered_by is not None:
        await notify(
            session,
            offer.offered_by,
            kind=kind,
            title=title,
            body=body,
            link=f"/api/v1/lead-offers/{offer.id}",
            object_type="lead_offers",
            record_id=offer.id,
        )


def _where(lead: Lead) -> str:
    return ", ".join(x for x in (lead.city, lead.state, lead.country) if x) or "unknown location"


async def _make_offers(
    session: AsyncSession,
    lead: Lead,
    targets: Sequence[tuple[uuid.UUID, uuid.UUID | None]],
    *,
    mode: OfferMode,
    time_limit: int,
    on_expiry: OnExpiry,
    max_extensions: int,
    offered_by: uuid.UUID | None,
    rule_id: uuid.UUID | None = None,
    message: str | None = None,
) -> tuple[uuid.UUID, list[LeadOffer]]:
    """One offer per target (partner account, optional rep), each with its claw-back job at
    its due time; the partners are told in-app and by email."""
    now = clock.now()
    expires = now + timedelta(seconds=time_limit)
    distribution_id = new_id()
    offers = [
        LeadOffer(
            id=new_id(),
            lead_id=lead.id,
            partner_account_id=account,
            partner_user_id=user,
            distribution_id=distribution_id,
            rule_id=rule_id,
            mode=mode,
            status=OfferStatus.offered,
            on_expiry=on_expiry,
            time_limit_seconds=time_limit,
            extensions=0,
            max_extensions=max_extensions,
            message=message,
            offered_by=offered_by,
            offered_at=now,
            expires_at=expires,
        )
        for account, user in targets
    ]
    session.add_all(offers)
    await session.flush()
    race = " Several partners have it: the first to accept gets it." if len(offers) > 1 else ""
    for offer in offers:
        await jobs.enqueue(session, EXPIRE_TASK, {"offer_id": str(offer.id)}, run_at=expires)
        await _tell_partner(
            session,
            offer,
            lead,
            "lead_offer.created",
            f"New lead offered: {lead.company}",
            f"A {lead.industry or ''} lead in {_where(lead)} is waiting in your lead inbox. "
            f"Accept it by {expires.isoformat(timespec='minutes')}.{race}",
            email=True,
        )
        await _emit(session, OFFERED, offer, offered_by, expires_at=expires.isoformat())
    return distribution_id, offers


async def _distributable(session: AsyncSession, lead: Lead) -> None:
    if lead.is_converted:
        raise InvalidStateTransition("A converted lead cannot be offered")
    if lead.partner_account_id is not None:
        raise InvalidStateTransition(
            "The lead is already with a partner",
            extra={"partner_account_id": str(lead.partner_account_id)},
        )
    if await repository.offers_of_lead(session, lead.id, [OfferStatus.offered]):
        raise InvalidStateTransition(
            "The lead has open offers: withdraw them first", extra={"current_status": "offered"}
        )


async def offer(
    session: AsyncSession, principal: Principal, lead_id: uuid.UUID, body: schemas.LeadOfferCreate
) -> tuple[uuid.UUID, OfferMode, list[LeadOffer]]:
    policies.may(principal, "offer")
    lead: Lead = await leads.lock_for_write(session, principal, lead_id)
    await _distributable(session, lead)
    if body.partner_user_id is not None:
        user = await repository.partner_user(session, body.partner_user_id)
        if user is None or user.partner_account_id is None:
            raise invalid("partner_user_id", "not_found", "No such active partner user")
        if not await repository.open_partners(session, [user.partner_account_id]):
            raise invalid("partner_user_id", "not_found", "The user's partner is not active")
        targets = [(user.partner_account_id, user.id)]
    else:
        field = "partner_account_id" if body.partner_account_id else "partner_account_ids"
        ids = [body.partner_account_id] if body.partner_account_id else body.partner_account_ids
        assert ids is not None
        found = await repository.open_partners(session, ids)
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise invalid(
                field, "not_found", f"Not an active partner account: {', '.join(missing)}"
            )
        targets = [(i, None) for i in ids]
    mode = OfferMode.shark_tank if len(targets) > 1 else OfferMode.direct
    distribution_id, offers = await _make_offers(
        session,
        lead,
        targets,
        mode=mode,
        time_limit=body.time_limit_seconds,
        on_expiry=body.on_expiry,
        max_extensions=body.max_extensions,
        offered_by=principal.user_id,
        message=body.message,
    )
    return distribution_id, mode, offers


# --- distribution rules --------------------------------------------------------------------


def _matches(rule: DistributionRule, lead: Lead) -> bool:
    def among(value: str | None, allowed: list[str]) -> bool:
        if not allowed:
            return True
        return value is not None and value.strip().lower() in {a.lower() for a in allowed}

    if rule.min_score is not None and (lead.score is None or lead.score < rule.min_score):
        return False
    return (
        among(lead.country, rule.countries)
        and among(lead.state, rule.states)
        and among(lead.product_interest, rule.product_interests)
    )


async def _by_rules(
    session: AsyncSession, lead: Lead, offered_by: uuid.UUID | None, first: uuid.UUID | None = None
) -> tuple[uuid.UUID, OfferMode, list[LeadOffer]] | None:
    """Offer the lead by the first active rule (``first`` before the others) that matches it
    and has partners who have not had it yet; None when no rule has."""
    had = await repository.partners_who_had(session, lead.id)
    rules = await repository.active_rules(session)
    rules.sort(key=lambda r: r.id != first)  # stable: keeps the rules' order otherwise
    for rule in rules:
        if not _matches(rule, lead):
            continue
        fresh = [p for p in await repository.rule_targets(session, rule) if p not in had]
        if not fresh:
            continue
        if rule.mode == OfferMode.direct:
            fresh = fresh[:1]
        mode = OfferMode.shark_tank if len(fresh) > 1 else OfferMode.direct
        distribution_id, offers = await _make_offers(
            session,
            lead,
            [(p, None) for p in fresh],
            mode=mode,
            time_limit=rule.time_limit_seconds,
            on_expiry=rule.on_expiry,
            max_extensions=rule.max_extensions,
            offered_by=offered_by,
            rule_id=rule.id,
        )
        return distribution_id, mode, offers
    return None


async def distribute(
    session: AsyncSession, principal: Principal, lead_id: uuid.UUID
) -> tuple[uuid.UUID, OfferMode, list[LeadOffer]]:
    policies.may(principal, "offer")
    lead: Lead = await leads.lock_for_write(session, principal, lead_id)
    await _distributable(session, lead)
    done = await _by_rules(session, lead, principal.user_id)
    if done is None:
        raise Conflict(
            "No active distribution rule matches this lead with a partner that has not had it",
            code="no_matching_rule",
        )
    return done


# --- answering and closing -----------------------------------------------------------------


async def _locked(session: AsyncSession, offer: LeadOffer) -> tuple[Lead, LeadOffer]:
    lead = await repository.lock_lead(session, offer.lead_id)
    locked = await repository.lock_offer(session, offer.id)
    if lead is None or locked is None:  # gone with its lead (purged)
        raise InvalidStateTransition("The lead is no longer available")
    return lead, locked


async def _after_close(session: AsyncSession, lead: Lead, offer: LeadOffer) -> None:
    """When the last open offer of a distribution closes without a taker: redistribute when
    the offer says so, else the lead is back with the vendor."""
    siblings = [
        o
        for o in await repository.offers_of_lead(
            session, lead.id, [OfferStatus.offered, OfferStatus.accepted]
        )
    ]
    if siblings:
        return
    if (
        offer.on_expiry == OnExpiry.redistribute
        and not lead.is_converted
        and lead.deleted_at is None
        and lead.partner_account_id is None
    ):
        done = await _by_rules(session, lead, offer.offered_by, first=offer.rule_id)
        if done is not None:
            _, _, offers = done
            await _tell_vendor(
                session,
                offer,
                "lead_offer.redistributed",
                f"Lead {lead.company} redistributed",
                f"No partner took it; offered to {len(offers)} other partner(s).",
            )
            return
    await _tell_vendor(
        session,
        offer,
        "lead_offer.returned",
        f"Lead {lead.company} is back with you",
        "No partner took it and there is no other partner to offer it to.",
    )
    await _emit(session, RETURNED, offer, None)


async def accept(
    session: AsyncSession, principal: Principal, offer_id: uuid.UUID, body: schemas.LeadOfferAccept
) -> tuple[LeadOffer, Lead]:
    policies.may(principal, "accept")
    seen = await repository.get_visible(session, principal, offer_id)
    lead, offer = await _locked(session, seen)
    now = clock.now()
    policies.open_offer(offer, "accept", now)
    if lead.is_converted or lead.deleted_at is not None or lead.partner_account_id is not None:
        raise InvalidStateTransition("The lead is no longer available")
    owner = body.owner_id or principal.user_id or offer.partner_user_id
    if owner is None:
        raise invalid("owner_id", "required", "A partner system must name the owner")
    if owner != principal.user_id:
        user = await repository.partner_user(session, owner)
        if user is None or user.partner_account_id != offer.partner_account_id:
            raise invalid(
                "owner_id", "not_found", "The owner must be an active user of your partner"
            )
        if not partner_wide(principal):
            raise invalid("owner_id", "read_only", "Partner reps accept leads for themselves")
    offer.status = OfferStatus.accepted
    offer.responded_at = now
    offer.responded_by = principal.user_id
    await session.flush()
    # The other open offers of the lead (the rest of a shark tank) are closed: taken.
    for other in await repository.offers_of_lead(session, lead.id, [OfferStatus.offered]):
        if other.id == offer.id:
            continue
        other.status = OfferStatus.taken
        other.responded_at = now
        await _tell_partner(
            session,
            other,
            lead,
            "lead_offer.taken",
            f"Lead {lead.company} was taken",
            "Another partner accepted this lead first.",
        )
        await _emit(session, TAKEN, other, None)
    await session.flush()
    # Through the records machinery: field history and the change feed show the hand-over.
    await leads.change(
        session,
        principal,
        lead,
        {"partner_account_id": offer.partner_account_id, "owner_id": owner},
    )
    await _emit(session, ACCEPTED, offer, principal.user_id, owner_id=owner)
    await _tell_vendor(
        session,
        offer,
        "lead_offer.accepted",
        f"Lead {lead.company} accepted",
        "The partner accepted the lead and now works it.",
    )
    return offer, lead


async def decline(
    session: AsyncSession, principal: Principal, offer_id: uuid.UUID, body: schemas.LeadOfferDecline
) -> LeadOffer:
    policies.may(principal, "decline")
    seen = await repository.get_visible(session, principal, offer_id)
    lead, offer = await _locked(session, seen)
    now = clock.now()
    policies.open_offer(offer, "decline", now)
    offer.status = OfferStatus.declined
    offer.responded_at = now
    offer.responded_by = principal.user_id
    offer.decline_reason = body.reason
    await session.flush()
    await _emit(session, DECLINED, offer, principal.user_id, reason=body.reason)
    await _tell_vendor(
        session,
        offer,
        "lead_offer.declined",
        f"Lead {lead.company} declined",
        body.reason or "",
    )
    await _after_close(session, lead, offer)
    return offer


async def _vendor_locked(
    session: AsyncSession, principal: Principal, offer_id: uuid.UUID
) -> tuple[Lead, LeadOffer]:
    seen = await repository.get_visible(session, principal, offer_id)
    # The vendor must be able to change the lead (403 when it only reads it).
    await leads.lock_for_write(session, principal, seen.lead_id)
    return await _locked(session, seen)


async def withdraw(session: AsyncSession, principal: Principal, offer_id: uuid.UUID) -> LeadOffer:
    policies.may(principal, "withdraw")
    lead, offer = await _vendor_locked(session, principal, offer_id)
    policies.open_offer(offer, "withdraw", clock.now())
    offer.status = OfferStatus.withdrawn
    offer.responded_at = clock.now()
    await session.flush()
    await _emit(session, WITHDRAWN, offer, principal.user_id)
    await _tell_partner(
        session,
        offer,
        lead,
        "lead_offer.withdrawn",
        f"Lead offer withdrawn: {lead.company}",
        "The vendor withdrew this lead offer.",
    )
    return offer


async def extend(
    session: AsyncSession, principal: Principal, offer_id: uuid.UUID, body: schemas.LeadOfferExtend
) -> LeadOffer:
    policies.may(principal, "extend")
    lead, offer = await _vendor_locked(session, principal, offer_id)
    policies.open_offer(offer, "extend", clock.now())
    await _extend(session, lead, offer, body.seconds or offer.time_limit_seconds, principal.user_id)
    return offer


async def _extend(
    session: AsyncSession, lead: Lead, offer: LeadOffer, seconds: int, actor: uuid.UUID | None
) -> None:
    offer.expires_at = max(offer.expires_at, clock.now()) + timedelta(seconds=seconds)
    await session.flush()
    await jobs.enqueue(session, EXPIRE_TASK, {"offer_id": str(offer.id)}, run_at=offer.expires_at)
    await _emit(session, EXTENDED, offer, actor, expires_at=offer.expires_at.isoformat())
    await _tell_partner(
        session,
        offer,
        lead,
        "lead_offer.extended",
        f"More time for lead {lead.company}",
        f"You now have until {offer.expires_at.isoformat(timespec='minutes')} to accept it.",
    )


async def expire(session: AsyncSession, offer_id: uuid.UUID) -> None:
    """The claw-back, run by the job at the offer's due time. Re-checks everything under the
    locks: an offer answered, withdrawn or extended meanwhile is left alone."""
    seen = await session.get(LeadOffer, offer_id)
    if seen is None or seen.status != OfferStatus.offered:
        return
    lead = await repository.lock_lead(session, seen.lead_id)
    offer = await repository.lock_offer(session, offer_id)
    now = clock.now()
    if lead is None or offer is None or offer.status != OfferStatus.offered:
        return
    if offer.expires_at > now:  # extended: its own job runs at the new time
        return
    if offer.on_expiry == OnExpiry.extend and offer.extensions < offer.max_extensions:
        offer.extensions += 1
        await _extend(session, lead, offer, offer.time_limit_seconds, None)
        await _tell_vendor(
            session,
            offer,
            "lead_offer.extended",
            f"Lead offer extended: {lead.company}",
            "The partner did not answer in time; the offer was extended.",
        )
        return
    offer.status = OfferStatus.expired
    await session.flush()
    await _emit(session, EXPIRED, offer, None)
    await _tell_partner(
        session,
        offer,
        lead,
        "lead_offer.expired",
        f"Lead offer expired: {lead.company}",
        "The time limit passed; the lead was taken back.",
    )
    await _after_close(session, lead, offer)


# --- reading -------------------------------------------------------------------------------


async def _page(
    session: AsyncSession,
    stmt,
    limit: int,
    cursor: str | None,
) -> tuple[list[LeadOffer], str | None]:
    if cursor:
        values = decode_cursor(cursor)
        try:
            after = uuid.UUID(str(values[0]))
        except (ValueError, IndexError, TypeError) as exc:
            raise invalid("cursor", "invalid", "Malformed cursor") from exc
        stmt = stmt.where(LeadOffer.id < after)
    rows = list((await session.scalars(stmt.order_by(LeadOffer.id.desc()).limit(limit + 1))).all())
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor([str(rows[-1].id)])
    return rows, None


def _filters(stmt, **given: Any):
    for name, value in given.items():
        if value is not None:
            stmt = stmt.where(getattr(LeadOffer, name) == value)
    return stmt


async def list_offers(
    session: AsyncSession, principal: Principal, limit: int, cursor: str | None, **filters: Any
) -> tuple[list[tuple[LeadOffer, Lead | None]], str | None]:
    stmt = _filters(select(LeadOffer).where(repository.visible(principal)), **filters)
    rows, nxt = await _page(session, stmt, limit, cursor)
    lead_rows = await leads_of(session, rows)
    return [(o, lead_rows.get(o.lead_id)) for o in rows], nxt


async def leads_of(session: AsyncSession, offers: Sequence[LeadOffer]) -> dict[uuid.UUID, Lead]:
    ids = {o.lead_id for o in offers}
    if not ids:
        return {}
    found = await session.scalars(select(Lead).where(Lead.id.in_(ids)))
    return {x.id: x for x in found.all()}


async def get_offer(
    session: AsyncSession, principal: Principal, offer_id: uuid.UUID
) -> tuple[LeadOffer, Lead | None]:
    offer = await repository.get_visible(session, principal, offer_id)
    return offer, (await leads_of(session, [offer])).get(offer.lead_id)


def vendor_view(offer: LeadOffer, lead: Lead | None) -> schemas.LeadOffer:
    out = schemas.LeadOffer.model_validate(offer)
    if lead is not None:
        out.lead = schemas.LeadFeedback.model_validate(lead, from_attributes=True)
    return out


def inbox_view(offer: LeadOffer, lead: Lead) -> schemas.InboxOffer:
    return schemas.InboxOffer(
        **{f: getattr(offer, f) for f in INBOX_FIELDS},
        lead=schemas.LeadSummary(**{f: getattr(lead, f) for f in SUMMARY_FIELDS}),
    )


def partner_only(principal: Principal) -> None:
    if not is_partner(principal):
        raise Forbidden(
            "The lead inbox is for partners; the vendor uses /api/v1/lead-offers",
            code="partner_only",
        )


def now() -> datetime:
    return clock.now()


# --- rules ---------------------------------------------------------------------------------


async def _check_rule_partners(session: AsyncSession, values: dict[str, Any]) -> None:
    ids = values.get("partner_account_ids") or []
    if len(set(ids)) != len(ids):
        raise invalid("partner_account_ids", "duplicate", "partner_account_ids has duplicates")
    found = await repository.open_partners(session, ids)
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise invalid(
            "partner_account_ids",
            "not_found",
            f"Not an active partner account: {', '.join(missing)}",
        )


def _rule_values(body: Any, *, create: bool) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=not create)
    if "partner_tiers" in values and values["partner_tiers"] is not None:
        values["partner_tiers"] = [
            t.value if hasattr(t, "value") else t for t in values["partner_tiers"]
        ]
    for name in (
        "countries",
        "states",
        "product_interests",
        "partner_tiers",
        "partner_account_ids",
    ):
        if name in values and values[name] is None:
            values[name] = []
    return values


async def create_rule(
    session: AsyncSession, principal: Principal, body: schemas.DistributionRuleCreate
) -> DistributionRule:
    policies.may(principal, "offer")
    values = _rule_values(body, create=True)
    await _check_rule_partners(session, values)
    rule = DistributionRule(id=new_id(), created_by=principal.user_id, **values)
    session.add(rule)
    await session.flush()
    await session.refresh(rule)
    return rule


async def get_rule(session: AsyncSession, rule_id: uuid.UUID) -> DistributionRule:
    rule = await session.get(DistributionRule, rule_id)
    if rule is None:
        raise NotFound("No such distribution rule")
    return rule


async def update_rule(
    session: AsyncSession,
    principal: Principal,
    rule_id: uuid.UUID,
    body: schemas.DistributionRuleUpdate,
) -> DistributionRule:
    policies.may(principal, "offer")
    rule = await session.get(DistributionRule, rule_id, with_for_update=True)
    if rule is None:
        raise NotFound("No such distribution rule")
    values = _rule_values(body, create=False)
    for name in (
        "name",
        "is_active",
        "sort_order",
        "mode",
        "on_expiry",
        "time_limit_seconds",
        "max_extensions",
    ):
        if name in values and values[name] is None:
            raise invalid(name, "required", f"{name} cannot be null")
    await _check_rule_partners(session, values)
    for name, value in values.items():
        setattr(rule, name, value)
    rule.updated_at = clock.now()
    await session.flush()
    await session.refresh(rule)
    return rule


async def delete_rule(session: AsyncSession, principal: Principal, rule_id: uuid.UUID) -> None:
    policies.may(principal, "offer")
    rule = await session.get(DistributionRule, rule_id)
    if rule is None:
        raise NotFound("No such distribution rule")
    await session.delete(rule)
    await session.flush()


async def list_rules(
    session: AsyncSession, limit: int, cursor: str | None
) -> tuple[list[DistributionRule], str | None]:
    stmt = select(DistributionRule)
    if cursor:
        values = decode_cursor(cursor)
        try:
            order, after = int(values[0]), uuid.UUID(str(values[1]))
        except (ValueError, IndexError, TypeError) as exc:
            raise invalid("cursor", "invalid", "Malformed cursor") from exc
        stmt = stmt.where(
            (DistributionRule.sort_order > order)
            | ((DistributionRule.sort_order == order) & (DistributionRule.id > after))
        )
    stmt = stmt.order_by(DistributionRule.sort_order, DistributionRule.id).limit(limit + 1)
    rows = list((await session.scalars(stmt)).all())
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor([rows[-1].sort_order, str(rows[-1].id)])
    return rows, None
