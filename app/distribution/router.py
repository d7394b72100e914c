"""Lead distribution over HTTP.

The vendor (scope `leads:distribute`): offer a lead to a partner rep, a partner or several
partners (shark tank), distribute it by rule, follow the offers and their status feedback,
withdraw or extend them, and manage the distribution rules. Partners (scopes `leads:read` and
`leads:write`, which partner users have): the lead inbox, accept and decline.
"""

import uuid
from typing import Annotated

from fastapi import Query, Response

import app.distribution.kpis  # noqa: F401  (registers its scorecard KPIs)
from app.auth.principal import Principal, require
from app.distribution import schemas, service
from app.kit import output
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.pagination import MAX_LIMIT, Page
from app.kit.routes import Routes
from app.kit.routing import Router
from app.leads.repository import records as leads
from app.models.distribution import OfferStatus

Distributor = Annotated[Principal, require("leads:distribute")]
PartnerReader = Annotated[Principal, require("leads:read")]
PartnerWriter = Annotated[Principal, require("leads:read", "leads:write")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]
ERRORS = problem_responses(400, 401, 403, 404, 409, 422)

lead_router = Router(prefix="/api/v1/leads", tags=["lead_distribution"])
offers_router = Router(prefix="/api/v1/lead-offers", tags=["lead_distribution"])
inbox_router = Router(prefix="/api/v1/lead-inbox", tags=["lead_inbox"])
rules_router = Router(prefix="/api/v1/distribution-rules", tags=["distribution_rules"])
routers = [lead_router, offers_router, inbox_router, rules_router]

# Offering a lead answers the offers made; the vendor's steps on an offer answer it.
offerings = Routes(
    lead_router, status_code=201, response_model=schemas.LeadOfferBatch, responses=ERRORS
)
vendor_steps = Routes(offers_router, response_model=schemas.LeadOffer, responses=ERRORS)
rule_routes = Routes(
    rules_router,
    response_model=schemas.DistributionRule,
    responses=problem_responses(401, 403, 404, 422),
)


async def _batch(session, distribution_id, mode, offers) -> schemas.LeadOfferBatch:
    found = await service.leads_of(session, offers)
    return schemas.LeadOfferBatch(
        distribution_id=distribution_id,
        mode=mode,
        offers=[service.vendor_view(o, found.get(o.lead_id)) for o in offers],
    )


async def _vendor_view(session, principal, offer_id) -> schemas.LeadOffer:
    offer, lead = await service.get_offer(session, principal, offer_id)
    return service.vendor_view(offer, lead)


# --- the vendor ------------------------------------------------------------------------------


@offerings.post("/{record_id}/offers", name="offer", summary="Offer a lead to partners")
async def offer(
    session: Session, principal: Distributor, record_id: uuid.UUID, body: schemas.LeadOfferCreate
):
    """Offer a lead you may change to one partner rep (`partner_user_id`), one partner
    (`partner_account_id`) or several partners at once (`partner_account_ids`: a "shark tank",
    the first to accept gets the lead, exactly once however close the race). The partners are
    notified in-app and by email and find the offer in their lead inbox, with the customer's
    details held back until they accept (see `GET /api/v1/lead-inbox`). The lead itself is not
    shared with them until then. Each offer has a time limit (`time_limit_seconds`, 48 hours by
    default); at its due time an unanswered offer is clawed back and `on_expiry` decides what
    follows. A converted lead, a lead already with a partner, or one with open offers is a 409
    `invalid_state_transition`; an unknown or inactive partner a 422."""
    distribution_id, mode, offers = await service.offer(session, principal, record_id, body)
    return await _batch(session, distribution_id, mode, offers)


@offerings.post(
    "/{record_id}/distribute", name="distribute", summary="Distribute a lead by the rules"
)
async def distribute(session: Session, principal: Distributor, record_id: uuid.UUID):
    """Apply the active distribution rules in order: the first rule that matches the lead and
    has partners that have not had the lead yet offers it to them (its first such partner, or
    all of them for a shark-tank rule). No such rule: 409 `no_matching_rule`."""
    distribution_id, mode, offers = await service.distribute(session, principal, record_id)
    return await _batch(session, distribution_id, mode, offers)


@offers_router.get(
    "",
    name="list",
    summary="List lead offers",
    response_model=Page[schemas.LeadOffer],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_offers(
    session: Session,
    principal: Distributor,
    limit: Limit = 50,
    cursor: Cursor = None,
    lead_id: uuid.UUID | None = None,
    partner_account_id: uuid.UUID | None = None,
    distribution_id: uuid.UUID | None = None,
    status: OfferStatus | None = None,
):
    """Offers of leads you may read and offers you made, newest first, each with the lead's
    current status (`lead`: status, converted, the opportunity it became): the partner's
    feedback."""
    rows, nxt = await service.list_offers(
        session,
        principal,
        limit,
        cursor,
        lead_id=lead_id,
        partner_account_id=partner_account_id,
        distribution_id=distribution_id,
        status=status,
    )
    return Page[schemas.LeadOffer](
        data=[service.vendor_view(o, lead) for o, lead in rows], next_cursor=nxt
    )


@offers_router.get(
    "/{offer_id}",
    name="get",
    summary="Get a lead offer",
    response_model=schemas.LeadOffer,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_offer(session: Session, principal: Distributor, offer_id: uuid.UUID):
    return await _vendor_view(session, principal, offer_id)


@vendor_steps.post("/{offer_id}/withdraw", name="withdraw", summary="Withdraw a lead offer")
async def withdraw(session: Session, principal: Distributor, offer_id: uuid.UUID):
    """Take back an open offer (the partner is told). Only an open offer: otherwise 409
    `invalid_state_transition`. The lead is not redistributed."""
    row = await service.withdraw(session, principal, offer_id)
    return await _vendor_view(session, principal, row.id)


@vendor_steps.post("/{offer_id}/extend", name="extend", summary="Extend a lead offer's time limit")
async def extend(
    session: Session,
    principal: Distributor,
    offer_id: uuid.UUID,
    body: schemas.LeadOfferExtend | None = None,
):
    """Give the partner more time on an open offer: `seconds` more (default: the offer's own
    time limit) from its current due time. The claw-back moves with it."""
    row = await service.extend(session, principal, offer_id, body or schemas.LeadOfferExtend())
    return await _vendor_view(session, principal, row.id)


# --- the partner -----------------------------------------------------------------------------


@offers_router.post(
    "/{offer_id}/accept",
    name="accept",
    summary="Accept a lead offer",
    response_model=schemas.LeadOfferAccepted,
    responses=ERRORS,
)
async def accept(
    session: Session,
    principal: PartnerWriter,
    offer_id: uuid.UUID,
    body: schemas.LeadOfferAccept | None = None,
):
    """The partner takes the lead: it becomes the partner's (`partner_account_id`, and the
    owner is the accepting user, or `owner_id`), with field history and a change-feed entry,
    and the full lead is returned; from now on it is in the partner's `/api/v1/leads` to work
    and convert. Of a shark tank, the first acceptance wins: the other partners' offers close
    as `taken` and their accept is a 409 `invalid_state_transition`, as is accepting after the
    time limit. Another partner's offer is a 404."""
    offer, lead = await service.accept(
        session, principal, offer_id, body or schemas.LeadOfferAccept()
    )
    (full,) = await leads.dump(session, [lead], leads.hidden(principal))
    view = service.inbox_view(offer, lead).model_dump(mode="json")
    return Response(output.to_json({"offer": view, "lead": full}), media_type="application/json")


@offers_router.post(
    "/{offer_id}/decline",
    name="decline",
    summary="Decline a lead offer",
    response_model=schemas.InboxOffer,
    responses=ERRORS,
)
async def decline(
    session: Session,
    principal: PartnerWriter,
    offer_id: uuid.UUID,
    body: schemas.LeadOfferDecline | None = None,
):
    """The partner turns the lead down (with an optional `reason` for the vendor). When no
    other offer of it is open, the lead goes to the next partner by rule (`on_expiry =
    redistribute`) or back to the vendor."""
    offer = await service.decline(session, principal, offer_id, body or schemas.LeadOfferDecline())
    row, lead = await service.get_offer(session, principal, offer.id)
    assert lead is not None
    return service.inbox_view(row, lead)


@inbox_router.get(
    "",
    name="list",
    summary="The partner's lead inbox",
    response_model=Page[schemas.InboxOffer],
    responses=problem_responses(400, 401, 403, 422),
)
async def inbox(
    session: Session,
    principal: PartnerReader,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: OfferStatus | None = None,
):
    """Lead offers addressed to your partner (an offer to one rep: only that rep and the
    partner's managers see it), newest first; `?status=offered` for the open ones.

    Until you accept, a lead shows only this subset (`lead`): `company`, `industry`, `city`,
    `state`, `country`, `lead_source`, `rating`, `status` and `product_interest`. The person
    (name, title), how to reach them (email, phone, street, postal code, website) and the
    vendor's fields (score, owner, description) are held back. Accepting gives you the full
    lead."""
    service.partner_only(principal)
    rows, nxt = await service.list_offers(session, principal, limit, cursor, status=status)
    return Page[schemas.InboxOffer](
        data=[service.inbox_view(o, lead) for o, lead in rows if lead is not None],
        next_cursor=nxt,
    )


@inbox_router.get(
    "/{offer_id}",
    name="get",
    summary="An offer in the lead inbox",
    response_model=schemas.InboxOffer,
    responses=problem_responses(401, 403, 404, 422),
)
async def inbox_get(session: Session, principal: PartnerReader, offer_id: uuid.UUID):
    """One offer of your inbox, with the held-back subset of the lead (see the inbox list)."""
    service.partner_only(principal)
    offer, lead = await service.get_offer(session, principal, offer_id)
    assert lead is not None
    return service.inbox_view(offer, lead)


# --- distribution rules ----------------------------------------------------------------------


@rules_router.get(
    "",
    name="list",
    summary="List distribution rules",
    response_model=Page[schemas.DistributionRule],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_rules(
    session: Session, principal: Distributor, limit: Limit = 50, cursor: Cursor = None
):
    """In the order they are tried (`sort_order`, then creation)."""
    rows, nxt = await service.list_rules(session, limit, cursor)
    return Page[schemas.DistributionRule](
        data=[schemas.DistributionRule.model_validate(r) for r in rows], next_cursor=nxt
    )


@rules_router.post(
    "",
    name="create",
    summary="Create a distribution rule",
    status_code=201,
    response_model=schemas.DistributionRule,
    responses=problem_responses(401, 403, 422),
)
async def create_rule(
    session: Session, principal: Distributor, body: schemas.DistributionRuleCreate
):
    """A rule matches a lead on its country, state, product interest (any of the listed values,
    case-insensitive; an empty list matches all) and minimum score, and offers it to its target
    partners (`partner_account_ids` in order, narrowed to `partner_tiers` when given; or every
    active partner of `partner_tiers`), one at a time (`direct`) or all at once
    (`shark_tank`), with its own time limit and claw-back behaviour. Applied by
    `POST /api/v1/leads/{id}/distribute` and when an offer made by rule or with
    `on_expiry=redistribute` closes without a taker."""
    return await service.create_rule(session, principal, body)


@rule_routes.get("/{rule_id}", name="get", summary="Get a distribution rule")
async def get_rule(session: Session, principal: Distributor, rule_id: uuid.UUID):
    return await service.get_rule(session, rule_id)


@rule_routes.patch("/{rule_id}", name="update", summary="Update a distribution rule")
async def update_rule(
    session: Session,
    principal: Distributor,
    rule_id: uuid.UUID,
    body: schemas.DistributionRuleUpdate,
):
    return await service.update_rule(session, principal, rule_id, body)


@rules_router.delete(
    "/{rule_id}",
    name="delete",
    summary="Delete a distribution rule",
    status_code=204,
    responses=problem_responses(401, 403, 404),
)
async def delete_rule(session: Session, principal: Distributor, rule_id: uuid.UUID) -> None:
    """Offers it made stay (their `rule_id` is cleared)."""
    await service.delete_rule(session, principal, rule_id)
