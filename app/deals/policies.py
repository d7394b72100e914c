"""The deal registration state machine and who may move it.

    draft --submit--> submitted --approve--> approved --close--> closed_won | closed_lost
                      submitted --reject---> rejected --resubmit--> submitted
    approved --(time frame ends: timer job)--> expired --resubmit--> submitted
    approved | expired --request-extension--> extension_requested
    extension_requested --grant-extension--> approved (time frame moved on)
    extension_requested --deny-extension---> approved, or expired once its time frame ended
    draft | submitted | approved | extension_requested | rejected | expired --withdraw--> withdrawn

While an extension is being decided the registration stays protected: the timer of a
registration in ``extension_requested`` does nothing, and a denial after the end expires it.

The partner (scope ``deals:register``) submits, resubmits, asks for extensions, closes and
withdraws; the vendor's channel manager (scope ``deals:approve``, never a partner) approves,
rejects and decides extensions.
"""

from decimal import Decimal

from app.access import is_partner
from app.auth.principal import Principal
from app.kit.errors import Forbidden, InvalidStateTransition
from app.models.deals import DealRegistrationStatus as S

TRANSITIONS: dict[str, tuple[frozenset[S], S | None]] = {
    "submit": (frozenset({S.draft}), S.submitted),
    "approve": (frozenset({S.submitted}), S.approved),
    "reject": (frozenset({S.submitted}), S.rejected),
    "resubmit": (frozenset({S.rejected, S.expired}), S.submitted),
    "request_extension": (frozenset({S.approved, S.expired}), S.extension_requested),
    "grant_extension": (frozenset({S.extension_requested}), S.approved),
    # approved or expired, by the time frame
    "deny_extension": (frozenset({S.extension_requested}), None),
    # closed_won or closed_lost, by the outcome
    "close": (frozenset({S.approved, S.extension_requested}), None),
    "withdraw": (
        frozenset({S.draft, S.submitted, S.approved, S.extension_requested, S.rejected, S.expired}),
        S.withdrawn,
    ),
}
VENDOR_ONLY = frozenset({"approve", "reject", "grant_extension", "deny_extension"})
# States in which the partner may still change the registration's fields (PATCH): before it
# is submitted, and to add information before resubmitting.
EDITABLE = frozenset({S.draft, S.rejected, S.expired})
# Registrations that hold (or claim) a deal: what a new registration conflicts with.
ACTIVE = (S.submitted, S.approved, S.extension_requested)

DEFAULT_PROTECTION_DAYS = 90
DEFAULT_EXTENSION_DAYS = 30
# The partner's margin credit on a won deal, by partner tier (percent of the amount won).
MARGIN_BY_TIER = {
    "bronze": Decimal("2.00"),
    "silver": Decimal("3.00"),
    "gold": Decimal("5.00"),
    "platinum": Decimal("7.00"),
}
DEFAULT_MARGIN = Decimal("2.00")


def may(principal: Principal, action: str) -> None:
    """Decisions are the vendor's: a partner principal is refused even if a token somehow
    carried the scope."""
    if action in VENDOR_ONLY and is_partner(principal):
        raise Forbidden(f"Only the vendor may {action.replace('_', ' ')}", code="vendor_only")


def target(action: str, current: S) -> S | None:
    allowed, to = TRANSITIONS[action]
    if current not in allowed:
        raise InvalidStateTransition(
            f"Cannot {action.replace('_', ' ')} a deal registration that is {current.value}",
            extra={
                "current_status": current.value,
                "allowed_from": sorted(s.value for s in allowed),
            },
        )
    return to


# What may go to the recycle bin: registrations that hold no deal and no credit.
DELETABLE = frozenset({S.draft, S.rejected, S.expired, S.withdrawn, S.closed_lost})


def deletable(row) -> None:
    if row.status not in DELETABLE:
        raise InvalidStateTransition(
            f"A deal registration that is {row.status.value} cannot be deleted (withdraw it first)",
            extra={"current_status": row.status.value},
        )


def editable(current: S) -> None:
    if current not in EDITABLE:
        raise InvalidStateTransition(
            "A deal registration can be changed only while it is a draft, rejected or expired"
            f" (it is {current.value}); resubmit carries changes",
            extra={"current_status": current.value},
        )
