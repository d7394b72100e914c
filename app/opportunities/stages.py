"""The Salesforce standard opportunity stages a fresh database is seeded with (the picklist
migration b1c0ffee0001 holds a frozen copy). The application reads stages from the picklist
(app/picklists), where administrators change them; this table is the reference for tests."""

from dataclasses import dataclass

from app.models.opportunities import ForecastCategory


@dataclass(frozen=True)
class Stage:
    probability: int
    forecast_category: ForecastCategory
    is_closed: bool = False
    is_won: bool = False


_P, _B = ForecastCategory.pipeline, ForecastCategory.best_case

STAGES: dict[str, Stage] = {
    "Prospecting": Stage(10, _P),
    "Qualification": Stage(10, _P),
    "Needs Analysis": Stage(20, _P),
    "Value Proposition": Stage(50, _P),
    "Id. Decision Makers": Stage(60, _P),
    "Perception Analysis": Stage(70, _P),
    "Proposal/Price Quote": Stage(75, _P),
    "Negotiation/Review": Stage(90, _B),
    "Closed Won": Stage(100, ForecastCategory.closed, is_closed=True, is_won=True),
    "Closed Lost": Stage(0, ForecastCategory.omitted, is_closed=True),
}

DEFAULT_STAGE = "Prospecting"
