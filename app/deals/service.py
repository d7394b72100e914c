"""Deal registration workflows: submit, approve, reject, resubmit, extensions, expiry, close,
withdraw, and the conflict check.

Every transition locks its registration through record access (404 when invisible, 403 when
read-only) and checks the state machine (app/deals/policies.py) after the lock, so of two
concurrent calls one acts and the other meets the new state (409). Submissions are also
serialised per customer: a transaction-level advisory lock on the customer's key word and email
domain is taken before conflicts are looked for, so of two partners registering the same deal
at the same moment the first is clean and the second sees it and is flagged as its conflict.

Protection time frames end with a timer job (``deal_registrations.expire``) enqueued at the end
of the time frame; extending enqueues another. The job re-reads the registration under lock and
does nothing unless it is still approved and its time frame really has ended, so a stale timer
(extended, closed, withdrawn) is harmless.
"""

import dataclasses
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app import events, jobs
from app.access import is_partner
from app.auth.principal import Principal, PrincipalKind
from app.config import Settings
from app.deals import matching, policies, schemas
from app.deals.repository import records
from app.email.service import queue_notice
from app.kit import clock
from app.kit.resource import invalid
from app.kit.workflow import Notice, Workflow
from app.models import (
    Account,
    DealRegistration,
    Opportunity,
    OpportunityLineItem,
    Product,
    User,
)
from app.models.deals import DealRegistrationStatus as S
from app.opportunities import schemas as opportunity_schemas
from app.opportunities.repository import records as opportunities

EXPIRE_TASK = "deal_registrations.expire"
OBJECT = "deal_registrations"
VERBS = {
    "submitted": "A deal registration was submitted",
    "resubmitted": "A rejected or expired deal registration was submitted again",
    "approved": "A deal registration was approved for a protection time frame",
    "rejected": "A deal registration was rejected",
    "extension_requested": "A partner asked to extend a deal registration",
    "extension_granted": "A deal registration's time frame was extended",
    "extension_denied": "An extension of a deal registration was denied",
    "expired": "A deal registration's time frame ended before it closed",
    "closed": "A deal registration was closed (won or lost)",
    "withdrawn": "A partner withdrew a deal registration",
}
for _verb, _what in VERBS.items():
    events.declare(f"deal_registration.{_verb}", _what)

SYSTEM = Principal(
    kind=PrincipalKind.service,
    scopes=frozenset(),
    client_pk=uuid.UUID(int=0),
    client_id="accord",
)


def _elevated(principal: Principal) -> Principal:
    """The caller acting with the workflow's authority on records the workflow maintains (the
    linked opportunity), still named in their history."""
    return dataclasses.replace(
        principal,
        kind=PrincipalKind.user,
        is_admin=True,
        partner_account_id=None,
        partner_role=None,
    )


def _payload(row: DealRegistration, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": row.status.value,
        "partner_account_id": str(row.partner_account_id) if row.partner_account_id else None,
        **{k: v if isinstance(v, bool | int | None) else str(v) for k, v in data.items()},
    }


flow = Workflow(
    records, "deal_registration", may=policies.may, target=policies.target, payload=_payload
)


async def _channel_manager(session: AsyncSession, row: DealRegistration) -> uuid.UUID | None:
    """Who decides for this partner: its channel manager, else the partner account's owner."""
    if row.partner_account_id is None:
        return None
    found = (
        await session.execute(
            select(Account.channel_manager_id, Account.owner_id).where(
                Account.id == row.partner_account_id
            )
        )
    ).first()
    if found is None:
        return None
    return found.channel_manager_id or found.owner_id


async def _to_vendor(session, row: DealRegistration, kind: str, title: str, body: str = ""):
    """A notice to the partner's channel manager."""
    return Notice(await _channel_manager(session, row), f"deal_registration.{kind}", title, body)


def _to_partner(row: DealRegistration, kind: str, title: str, body: str = "") -> Notice:
    """A notice to the registering partner user."""
    return Notice(row.owner_id, f"deal_registration.{kind}", title, body)


def _protected(row: DealRegistration, kind: str, done: str, expires_at: datetime) -> Notice:
    """The partner is told the registration was ``done`` and is protected until ``expires_at``."""
    title = f"Your deal registration for {row.customer_company} was {done}"[:255]
    return _to_partner(row, kind, title, f"Protected until {expires_at.isoformat()}.")


async def _auto_response(
    session: AsyncSession, settings: Settings, row: DealRegistration, user_id: uuid.UUID | None
) -> None:
    """Seed 000: "The partner will receive an auto-response email confirming that the deal has
    been received and that they will hear back within 48 hours." Queued with the email module's
    send job, so it leaves only if the submission commits."""
    user = None
    for candidate in (user_id, row.owner_id):
        if candidate is not None:
            user = await session.get(User, candidate)
            if user is not None and user.email:
                break
    if user is None or not user.email:
        return
    product = row.product_interest or ""
    if row.product_id is not None:
        product = await session.scalar(select(Product.name).where(Product.id == row.product_id))
    lines = [
        f"Hello {user.name or ''},".replace(" ,", ","),
        "",
        f"We have received your deal registration for {row.customer_company}"
        + (f" ({product})" if product else "")
        + f", estimated at {row.estimated_amount} {row.currency_code}.",
        "Your channel manager will review it and you will hear back from us within 48 hours.",
        "",
        f"Reference: {row.id}",
    ]
    await queue_notice(
        session,
        settings,
        [(user.email, user.name)],
        subject=f"Deal registration received: {row.customer_company}",
        text="\n".join(lines),
        related_type="deal_registration",
        related_id=row.id,
    )


# --- conflicts -------------------------------------------------------------------------------


async def _lock_customer(session: AsyncSession, row: DealRegistration) -> None:
    """Serialise registrations of the same customer (same key word or email domain) until the
    transaction ends; keys in a fixed order, so two submissions never wait on each other in a
    cycle."""
    keys = {f"deal:name:{matching.key_token(row.customer_company_normalized)}"}
    if row.customer_email_domain:
        keys.add(f"deal:domain:{row.customer_email_domain}")
    for key in sorted(keys):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )


def _same_product(
    a_id: uuid.UUID | None, a_text: str | None, b_id: uuid.UUID | None, b_text: str | None
) -> bool:
    if a_id is not None and b_id is not None:
        return a_id == b_id
    return matching.same_product_text(a_text, b_text)


async def find_conflicts(
    session: AsyncSession, row: DealRegistration
) -> list[schemas.DealConflict]:
    """Registrations that hold or claim a deal (submitted, approved, extension requested) and
    open opportunities, for the same customer: a similar normalized company name or the same
    email domain. Each says whether the product is the same (unknown counts as the same)."""
    name = row.customer_company_normalized
    domain = row.customer_email_domain
    found: list[schemas.DealConflict] = []

    def matched(other_name: str, other_domain: str | None) -> tuple[list, float]:
        score = matching.similarity(name, other_name)
        on = []
        if score >= matching.SIMILARITY:
            on.append("company_name")
        if domain and other_domain == domain:
            on.append("email_domain")
        return on, round(score, 1)

    # Candidates are narrowed in SQL (a word of the name, or the domain), compared fuzzily here.
    dr = DealRegistration
    near = or_(
        *[
            dr.customer_company_normalized.contains(w, autoescape=True)
            for w in matching.distinctive_words(name)
        ]
    )
    if domain:
        near = near | (dr.customer_email_domain == domain)
    regs = await session.execute(
        select(
            dr.id,
            dr.customer_company,
            dr.customer_company_normalized,
            dr.customer_email_domain,
            dr.product_id,
            dr.product_interest,
            dr.status,
            dr.partner_account_id,
            dr.submitted_at,
        )
        .where(dr.id != row.id, dr.deleted_at.is_(None), dr.status.in_(policies.ACTIVE), near)
        .order_by(dr.submitted_at, dr.id)
        .limit(2000)
    )
    for r in regs.all():
        on, score = matched(r.customer_company_normalized, r.customer_email_domain)
        if on:
            found.append(
                schemas.DealConflict(
                    object_type="deal_registrations",
                    id=r.id,
                    customer_company=r.customer_company,
                    status=r.status.value,
                    partner_account_id=r.partner_account_id,
                    matched_on=on,
                    similarity=score,
                    same_product=_same_product(
                        row.product_id, row.product_interest, r.product_id, r.product_interest
                    ),
                    submitted_at=r.submitted_at,
                )
            )

    o, a = Opportunity, Account
    near = or_(
        *[func.lower(a.name).contains(w, autoescape=True) for w in matching.distinctive_words(name)]
    )
    if domain:
        near = near | func.lower(a.website).contains(domain, autoescape=True)
    opps = await session.execute(
        select(o.id, o.stage, o.partner_account_id, a.name, a.website)
        .join(a, a.id == o.account_id)
        .where(o.deleted_at.is_(None), a.deleted_at.is_(None), o.is_closed.is_(False), near)
        .where(o.id != row.opportunity_id if row.opportunity_id else o.id.is_not(None))
        .order_by(o.id.desc())
        .limit(2000)
    )
    matches = []
    for r in opps.all():
        on, score = matched(
            matching.normalize_company(r.name), matching.customer_domain(None, r.website)
        )
        if on:
            matches.append((r, on, score))
    products: dict[uuid.UUID, set[uuid.UUID]] = {}
    if matches and row.product_id is not None:
        items = await session.execute(
            select(OpportunityLineItem.opportunity_id, OpportunityLineItem.product_id).where(
                OpportunityLineItem.opportunity_id.in_([m[0].id for m in matches]),
                OpportunityLineItem.deleted_at.is_(None),
            )
        )
        for opp_id, product_id in items.all():
            products.setdefault(opp_id, set()).add(product_id)
    for r, on, score in matches:
        sold = products.get(r.id)
        found.append(
            schemas.DealConflict(
                object_type="opportunities",
                id=r.id,
                customer_company=r.name,
                status=r.stage,
                partner_account_id=r.partner_account_id,
                matched_on=on,
                similarity=score,
                same_product=not sold or row.product_id in sold,
            )
        )
    return found


async def visible_conflicts(
    session: AsyncSession, principal: Principal, record_id: uuid.UUID
) -> list[schemas.DealConflict]:
    """The conflicts of a registration the caller may read. The vendor's deciders (scope
    ``deals:approve``, not partners) see every conflict; anyone else only those records they
    may read themselves, so a partner never learns of another partner's registration."""
    row = await records.get(session, principal, record_id)
    found = await find_conflicts(session, row)
    if principal.has("deals:approve") and not is_partner(principal):
        return found
    shown = []
    for c in found:
        source = records if c.object_type == "deal_registrations" else opportunities
        if await source.visible_id(session, principal, c.id):
            shown.append(c)
    return shown


# --- transitions -----------------------------------------------------------------------------


async def _register(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    row: DealRegistration,
    verb: str,
) -> DealRegistration:
    """Submit (or resubmit): check conflicts under the customer lock, flag, confirm to the
    partner, tell the channel manager."""
    if row.partner_account_id is None:
        raise invalid(
            "partner_account_id",
            "required",
            "Only a registration of a partner can be submitted (give partner_account_id)",
        )
    await _lock_customer(session, row)
    conflicts = [c for c in await find_conflicts(session, row) if c.same_product]
    earlier = [c for c in conflicts if c.object_type == "deal_registrations"]
    now = clock.now()
    flag = f" ({len(conflicts)} possible conflict(s))" if conflicts else ""
    notice = await _to_vendor(
        session,
        row,
        verb,
        f"Deal registration {verb}: {row.customer_company}{flag}"[:255],
        f"Estimated {row.estimated_amount} {row.currency_code}. Please answer within 48 hours.",
    )
    await flow.step(
        session,
        principal,
        row,
        {
            "status": S.submitted,
            "submitted_at": now,
            "submitted_by": principal.user_id,
            "submission_count": row.submission_count + 1,
            "has_conflicts": bool(conflicts),
            "conflict_of_id": earlier[0].id if earlier else None,
            "decided_at": None,
            "decided_by": None,
            "protection_seconds": None,
            "approved_at": None,
            "expires_at": None,
            "expired_at": None,
        },
        verb,
        {"has_conflicts": bool(conflicts), "conflicts": len(conflicts)},
        [notice],
    )
    await _auto_response(session, settings, row, principal.user_id)
    return row


async def submit(
    session: AsyncSession, principal: Principal, settings: Settings, record_id: uuid.UUID
) -> DealRegistration:
    """Register a draft with the vendor (a registration submitted already is returned as it
    is, so a retried call does no harm). Conflicts (registrations submitted before it and open
    opportunities for the same customer and product) are looked for and flagged
    (`has_conflicts`); the partner user gets an auto-response email promising an answer within
    48 hours and the partner's channel manager is notified. Of two registrations of the same
    deal submitted at the same moment, the first is clean and the second is flagged."""
    flow.may(principal, "submit")
    row: DealRegistration = await records.lock_for_write(session, principal, record_id)
    if row.status == S.submitted:
        return row  # submitted already (on create, or by a retry): nothing to do
    flow.target("submit", row.status)
    return await _register(session, principal, settings, row, "submitted")


async def create(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    body: schemas.DealRegistrationCreate,
) -> DealRegistration:
    """Create a registration; a partner's is submitted at once unless it is to be a draft."""
    row = await records.create(session, principal, body)
    if not body.draft and row.partner_account_id is not None and principal.has("deals:register"):
        await _register(session, principal, settings, row, "submitted")
    return row


async def resubmit(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    record_id: uuid.UUID,
    body: schemas.DealRegistrationResubmit,
) -> DealRegistration:
    """Send a rejected (or expired) registration back to the vendor, with more information in
    the body (any field of the registration). Conflicts are checked again, as on submit."""
    row, _ = await flow.lock(session, principal, record_id, "resubmit")
    if body.model_fields_set:
        # More information: the changes go through the machinery (validation, field history).
        changes = records.r.update.model_validate(body.model_dump(exclude_unset=True))
        row = await records.update(session, principal, record_id, changes, None)
    return await _register(session, principal, settings, row, "resubmitted")


async def _opportunity(
    session: AsyncSession,
    principal: Principal,
    row: DealRegistration,
    body: schemas.DealRegistrationApprove,
) -> uuid.UUID:
    """The approved deal's opportunity, owned by the registering partner user and shared with
    the partner: an existing one the channel manager may change, or a new one."""
    if body.opportunity_id is not None:
        if not await opportunities.writable_id(session, principal, body.opportunity_id):
            raise invalid("opportunity_id", "not_found", "No such opportunity you may change")
        opp = await session.get(Opportunity, body.opportunity_id)
        if opp is None or opp.is_closed:
            raise invalid("opportunity_id", "closed", "The opportunity is closed")
        changes: dict[str, Any] = {}
        if opp.partner_account_id != row.partner_account_id:
            changes["partner_account_id"] = row.partner_account_id
        if opp.owner_id != row.owner_id:
            changes["owner_id"] = row.owner_id
        if changes:
            await opportunities.update(
                session,
                principal,
                opp.id,
                opportunity_schemas.OpportunityUpdate(**changes),
                None,
            )
        return opp.id
    if body.account_id is not None and not await session.scalar(
        select(Account.id).where(Account.id == body.account_id, Account.deleted_at.is_(None))
    ):
        raise invalid("account_id", "not_found", "No such account")
    product = row.product_interest
    if row.product_id is not None:
        product = await session.scalar(select(Product.name).where(Product.id == row.product_id))
    close = row.expected_close_date
    if close is None or close < clock.now().date():
        close = clock.now().date() + timedelta(days=90)
    opp = await opportunities.create(
        session,
        principal,
        opportunity_schemas.OpportunityCreate(
            name=f"{row.customer_company} - {product or 'Registered deal'}"[:255],
            close_date=close,
            amount=row.estimated_amount,
            currency_code=row.currency_code,
            owner_id=row.owner_id,
            partner_account_id=row.partner_account_id,
            account_id=body.account_id,
            description=row.notes,
        ),
    )
    return opp.id


async def _enqueue_expiry(session: AsyncSession, row: DealRegistration) -> None:
    assert row.expires_at is not None
    await jobs.enqueue(
        session,
        EXPIRE_TASK,
        {"id": str(row.id), "expires_at": row.expires_at.isoformat()},
        run_at=row.expires_at,
    )


async def approve(
    session: AsyncSession,
    principal: Principal,
    record_id: uuid.UUID,
    body: schemas.DealRegistrationApprove,
) -> DealRegistration:
    """The channel manager approves a submitted registration: sets the protection time frame
    (`protection_days` or `protection_seconds`; default the requested time frame, else 90
    days), links an existing opportunity or creates one, owned by the registering partner user
    and shared with the partner, and sets the margin credit. The registration expires when the
    time frame ends unless it is closed or extended first. Of two concurrent decisions one
    acts; the other is a 409."""
    row, to = await flow.lock(session, principal, record_id, "approve")
    if body.protection_seconds is not None:
        seconds = body.protection_seconds
    else:
        days = body.protection_days or row.requested_time_frame_days
        seconds = (days or policies.DEFAULT_PROTECTION_DAYS) * 86400
    margin = body.margin_percent
    if margin is None:
        tier = await session.scalar(
            select(Account.partner_tier).where(Account.id == row.partner_account_id)
        )
        margin = policies.MARGIN_BY_TIER.get(tier.value if tier else "", policies.DEFAULT_MARGIN)
    opportunity_id = await _opportunity(session, principal, row, body)
    now = clock.now()
    expires_at = now + timedelta(seconds=seconds)
    await flow.step(
        session,
        principal,
        row,
        {
            "status": to,
            "decided_at": now,
            "decided_by": principal.user_id,
            "decision_comment": body.comment,
            "approved_at": now,
            "protection_seconds": seconds,
            "expires_at": expires_at,
            "opportunity_id": opportunity_id,
            "margin_percent": margin,
        },
        "approved",
        {"expires_at": expires_at.isoformat(), "opportunity_id": opportunity_id},
        [_protected(row, "approved", "approved", expires_at)],
    )
    await _enqueue_expiry(session, row)
    return row


async def reject(
    session: AsyncSession,
    principal: Principal,
    record_id: uuid.UUID,
    body: schemas.DealRegistrationReject,
) -> DealRegistration:
    """The channel manager rejects a submitted registration with an explanation (`reason`),
    e.g. the deal already exists or the information is incomplete. The partner may resubmit."""
    row, to = await flow.lock(session, principal, record_id, "reject")
    title = f"Your deal registration for {row.customer_company} was rejected"[:255]
    return await flow.step(
        session,
        principal,
        row,
        {
            "status": to,
            "decided_at": clock.now(),
            "decided_by": principal.user_id,
            "rejection_reason": body.reason,
        },
        "rejected",
        {"reason": body.reason},
        [_to_partner(row, "rejected", title, body.reason)],
    )


def _seconds(days: int | None, seconds: int | None) -> int | None:
    if seconds is not None:
        return seconds
    return days * 86400 if days is not None else None


async def request_extension(
    session: AsyncSession,
    principal: Principal,
    record_id: uuid.UUID,
    body: schemas.DealExtensionRequest,
) -> DealRegistration:
    """The partner asks to extend an approved (or expired) registration, optionally by how long
    and why. It stays protected until the channel manager decides."""
    row, to = await flow.lock(session, principal, record_id, "request_extension")
    notice = await _to_vendor(
        session,
        row,
        "extension_requested",
        f"Extension requested: deal registration for {row.customer_company}"[:255],
        body.reason or "",
    )
    return await flow.step(
        session,
        principal,
        row,
        {
            "status": to,
            "extension_requested_at": clock.now(),
            "requested_extension_seconds": _seconds(body.extension_days, body.extension_seconds),
            "extension_reason": body.reason,
        },
        "extension_requested",
        notices=[notice],
    )


async def grant_extension(
    session: AsyncSession,
    principal: Principal,
    record_id: uuid.UUID,
    body: schemas.DealExtensionGrant,
) -> DealRegistration:
    """The time frame moves on by the extension (given, else requested, else 30 days), from
    its end or from now if it has already ended."""
    row, to = await flow.lock(session, principal, record_id, "grant_extension")
    seconds = (
        _seconds(body.extension_days, body.extension_seconds)
        or row.requested_extension_seconds
        or policies.DEFAULT_EXTENSION_DAYS * 86400
    )
    now = clock.now()
    # From the end of the current time frame, or from now when it has already ended.
    start = max(now, row.expires_at) if row.expires_at else now
    expires_at = start + timedelta(seconds=seconds)
    await flow.step(
        session,
        principal,
        row,
        {
            "status": to,
            "expires_at": expires_at,
            "expired_at": None,
            "extension_count": row.extension_count + 1,
            "decision_comment": body.comment,
            "decided_by": principal.user_id,
        },
        "extension_granted",
        {"expires_at": expires_at.isoformat()},
        [_protected(row, "extension_granted", "extended", expires_at)],
    )
    await _enqueue_expiry(session, row)
    return row


async def deny_extension(
    session: AsyncSession,
    principal: Principal,
    record_id: uuid.UUID,
    body: schemas.DealExtensionDeny,
) -> DealRegistration:
    """The registration goes back to approved until its time frame ends, or is expired at once
    if it already has."""
    row, _ = await flow.lock(session, principal, record_id, "deny_extension")
    now = clock.now()
    ended = row.expires_at is None or row.expires_at <= now
    title = f"The extension of your deal registration for {row.customer_company} was denied"
    await flow.step(
        session,
        principal,
        row,
        {
            "status": S.expired if ended else S.approved,
            "expired_at": now if ended else None,
            "decision_comment": body.reason,
            "decided_by": principal.user_id,
        },
        "extension_denied",
        {"reason": body.reason},
        [_to_partner(row, "extension_denied", title[:255], body.reason)],
    )
    if ended:
        await flow.emit(session, principal, "expired", row)
    return row


async def close(
    session: AsyncSession,
    principal: Principal,
    record_id: uuid.UUID,
    body: schemas.DealRegistrationClose,
) -> DealRegistration:
    """Won needs `proof_of_performance` (a reference or a list of documents) and records the
    partner's `margin_credit` (amount won x the margin percent set on approval); the linked
    opportunity is closed too."""
    row, _ = await flow.lock(session, principal, record_id, "close")
    now = clock.now()
    won = body.outcome == "won"
    if won and not body.proof_of_performance:
        raise invalid(
            "proof_of_performance", "required", "Closing as won needs proof of performance"
        )
    amount = body.closed_amount if body.closed_amount is not None else row.estimated_amount
    values: dict[str, Any] = {
        "status": S.closed_won if won else S.closed_lost,
        "closed_at": now,
        "closed_amount": amount,
    }
    if won:
        proof = body.proof_of_performance
        values["proof_of_performance"] = (
            proof if isinstance(proof, str) else [p.model_dump(exclude_none=True) for p in proof]
        )
        margin = row.margin_percent if row.margin_percent is not None else Decimal(0)
        values["margin_credit"] = (amount * margin / 100).quantize(Decimal("0.01"))
    else:
        values["lost_reason"] = body.lost_reason
        values["margin_credit"] = Decimal("0.00")
    credit = values["margin_credit"]
    notice = await _to_vendor(
        session,
        row,
        "closed",
        f"Deal registration closed {body.outcome}: {row.customer_company}"[:255],
        f"{amount} {row.currency_code}; margin credit {credit}.",
    )
    await flow.step(
        session,
        principal,
        row,
        values,
        "closed",
        {"outcome": body.outcome, "closed_amount": amount, "margin_credit": credit},
        [notice],
    )
    await _close_opportunity(session, principal, row, won, amount)
    return row


async def _close_opportunity(
    session: AsyncSession, principal: Principal, row: DealRegistration, won: bool, amount: Decimal
) -> None:
    if row.opportunity_id is None:
        return
    opp = await session.get(Opportunity, row.opportunity_id)
    if opp is None or opp.deleted_at is not None or opp.is_closed:
        return
    changes: dict[str, Any] = {"stage": "Closed Won" if won else "Closed Lost"}
    if won:
        changes["amount"] = amount
    await opportunities.update(
        session,
        _elevated(principal),
        opp.id,
        opportunity_schemas.OpportunityUpdate(**changes),
        None,
    )


async def withdraw(
    session: AsyncSession,
    principal: Principal,
    record_id: uuid.UUID,
    body: schemas.DealRegistrationWithdraw,
) -> DealRegistration:
    """The partner gives up a registration that is not closed. It cannot be reopened."""
    row, to = await flow.lock(session, principal, record_id, "withdraw")
    notices = []
    if row.status != S.draft:
        title = f"Deal registration withdrawn: {row.customer_company}"[:255]
        notices.append(await _to_vendor(session, row, "withdrawn", title, body.reason or ""))
    return await flow.step(
        session,
        principal,
        row,
        {"status": to, "withdrawn_at": clock.now(), "decision_comment": body.reason},
        "withdrawn",
        {"reason": body.reason},
        notices,
    )


async def expire(session: AsyncSession, record_id: uuid.UUID) -> bool:
    """The timer: expire the registration if it is still approved and its time frame has
    ended (a stale timer, after an extension or a close, does nothing)."""
    row = await session.scalar(
        select(DealRegistration)
        .where(DealRegistration.id == record_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    now = clock.now()
    if (
        row is None
        or row.deleted_at is not None
        or row.status != S.approved
        or row.expires_at is None
        or row.expires_at > now
    ):
        return False
    title = f"Deal registration expired: {row.customer_company}"[:255]
    body = "Resubmit it or ask for an extension to be protected again."
    notices = [
        _to_partner(row, "expired", title, body),
        await _to_vendor(session, row, "expired", title),
    ]
    await flow.step(
        session, SYSTEM, row, {"status": S.expired, "expired_at": now}, "expired", notices=notices
    )
    return True
