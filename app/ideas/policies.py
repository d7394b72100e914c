"""The idea status workflow, which only administrators move.

new -> under_review | planned | not_planned | delivered
under_review -> planned | not_planned | delivered
planned -> delivered | not_planned | under_review
not_planned -> under_review (reconsidered)
delivered: final.

Votes count while an idea is open (new, under review, planned); once delivered or not planned
the tally is final and votes (or withdrawals) are a 409 ``idea_closed``.
"""

from app.kit.errors import Conflict, InvalidStateTransition
from app.models.ideas import IdeaStatus

S = IdeaStatus
TRANSITIONS: dict[IdeaStatus, frozenset[IdeaStatus]] = {
    S.new: frozenset({S.under_review, S.planned, S.not_planned, S.delivered}),
    S.under_review: frozenset({S.planned, S.not_planned, S.delivered}),
    S.planned: frozenset({S.delivered, S.not_planned, S.under_review}),
    S.not_planned: frozenset({S.under_review}),
    S.delivered: frozenset(),
}
CLOSED = frozenset({S.delivered, S.not_planned})


def check_transition(current: IdeaStatus, to: IdeaStatus) -> None:
    if to not in TRANSITIONS[current]:
        raise InvalidStateTransition(
            f"An idea cannot go from {current.value} to {to.value}",
            extra={"current_status": current.value},
        )


def check_open(status: IdeaStatus) -> None:
    if status in CLOSED:
        raise Conflict(f"The idea is {status.value}: its votes are final", code="idea_closed")


def check_editable(status: IdeaStatus) -> None:
    """Authors edit their idea until an administrator has looked at it."""
    if status != S.new:
        raise InvalidStateTransition(
            f"An idea can be changed only while it is new (it is {status.value})",
            extra={"current_status": status.value},
        )
