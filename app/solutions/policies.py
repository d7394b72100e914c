"""The solution life cycle.

draft -> reviewed -> published -> archived, with these steps:

- ``review``: a draft was checked (Salesforce's "Reviewed" status);
- ``publish``: a draft, reviewed or archived solution goes live (``published_at`` is set);
- ``archive``: a published solution is withdrawn.

Only published solutions leave the company (partners and portal users see published public ones,
app/access); a draft nobody wants is deleted, not archived. Content may be edited in any state.
"""

from app.kit.errors import InvalidStateTransition
from app.models.solutions import SolutionStatus

TRANSITIONS: dict[str, tuple[frozenset[SolutionStatus], SolutionStatus]] = {
    "review": (frozenset({SolutionStatus.draft}), SolutionStatus.reviewed),
    "publish": (
        frozenset({SolutionStatus.draft, SolutionStatus.reviewed, SolutionStatus.archived}),
        SolutionStatus.published,
    ),
    "archive": (frozenset({SolutionStatus.published}), SolutionStatus.archived),
}


def target(action: str, current: SolutionStatus) -> SolutionStatus:
    allowed, to = TRANSITIONS[action]
    if current not in allowed:
        raise InvalidStateTransition(
            f"Cannot {action} a solution that is {current.value}",
            extra={"current_status": current.value},
        )
    return to
