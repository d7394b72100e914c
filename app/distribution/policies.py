"""The lead offer state machine and who may move it.

    offered -> accepted   (a partner of the offer; the first of a shark tank wins)
    offered -> declined   (a partner of the offer)
    offered -> expired    (the claw-back job, at expires_at; or extended instead, per on_expiry)
    offered -> withdrawn  (the vendor)
    offered -> taken      (the other offers of a shark tank, when one partner accepts)

Every transition locks the lead's row first, then the offer: all the transitions of one lead's
offers are serialised, so two partners racing for a shark tank lead cannot both win, and an
acceptance racing the claw-back job or a withdrawal is decided once.
"""

from datetime import datetime

from app.access import is_partner
from app.auth.principal import Principal
from app.kit.errors import Forbidden, InvalidStateTransition
from app.models.distribution import LeadOffer, OfferStatus

PARTNER_ACTIONS = {"accept", "decline"}
VENDOR_ACTIONS = {"offer", "withdraw", "extend"}


def may(principal: Principal, action: str) -> None:
    if action in PARTNER_ACTIONS and not is_partner(principal):
        raise Forbidden(
            f"Only the partner an offer is addressed to may {action} it", code="partner_only"
        )
    if action in VENDOR_ACTIONS and is_partner(principal):
        raise Forbidden(f"Only the vendor may {action} an offer", code="vendor_only")


def open_offer(offer: LeadOffer, action: str, now: datetime) -> None:
    """The offer must still be open: not answered, not closed, and (for a partner's answer) not
    past its time limit, even if the claw-back job has not run yet."""
    if offer.status != OfferStatus.offered:
        raise InvalidStateTransition(
            f"Cannot {action} an offer that is {offer.status.value}",
            extra={"current_status": offer.status.value},
        )
    if action in PARTNER_ACTIONS and offer.expires_at <= now:
        raise InvalidStateTransition(
            f"Cannot {action} an offer past its time limit",
            extra={"current_status": "expired"},
        )
