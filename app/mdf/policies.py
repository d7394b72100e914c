"""The MDF state machines and who may move them.

Fund request: draft -> submitted -> approved | rejected.
Fund claim: draft -> submitted -> approved -> paid; submitted -> rejected.

Partners (and the vendor on their behalf) write drafts and submit them; only the vendor's
people (internal users and clients not bound to a partner) approve, reject and pay.
"""

from enum import StrEnum
from typing import Any

from app.access import is_partner
from app.auth.principal import Principal
from app.kit.errors import Forbidden, InvalidStateTransition
from app.models.mdf import FundClaimStatus, FundRequestStatus

REQUEST_TRANSITIONS: dict[str, tuple[set[FundRequestStatus], FundRequestStatus]] = {
    "submit": ({FundRequestStatus.draft}, FundRequestStatus.submitted),
    "approve": ({FundRequestStatus.submitted}, FundRequestStatus.approved),
    "reject": ({FundRequestStatus.submitted}, FundRequestStatus.rejected),
}
CLAIM_TRANSITIONS: dict[str, tuple[set[FundClaimStatus], FundClaimStatus]] = {
    "submit": ({FundClaimStatus.draft}, FundClaimStatus.submitted),
    "approve": ({FundClaimStatus.submitted}, FundClaimStatus.approved),
    "reject": ({FundClaimStatus.submitted}, FundClaimStatus.rejected),
    "pay": ({FundClaimStatus.approved}, FundClaimStatus.paid),
}
VENDOR_ONLY = {"approve", "reject", "pay"}
# Claims in these states count against the approved amount of their request.
CLAIMED = (FundClaimStatus.submitted, FundClaimStatus.approved, FundClaimStatus.paid)


def may(principal: Principal, action: str) -> None:
    """Decisions are the vendor's."""
    if action in VENDOR_ONLY and is_partner(principal):
        raise Forbidden(f"Only the vendor may {action} this", code="vendor_only")


def target(transitions: dict[str, tuple[set, Any]], action: str, current: Any, label: str):
    allowed, to = transitions[action]
    if current not in allowed:
        raise InvalidStateTransition(
            f"Cannot {action} a {label} that is {current.value}",
            extra={"current_status": current.value},
        )
    return to


def editable(status: StrEnum, label: str) -> None:
    if status.value != "draft":
        raise InvalidStateTransition(
            f"A {label} can be changed only while it is a draft (it is {status.value})",
            extra={"current_status": status.value},
        )
