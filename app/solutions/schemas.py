"""Solution shapes: the article, its categories, search hits and suggestions."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.contacts.schemas import RecordOut
from app.models.solutions import SolutionStatus

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Body = Annotated[str, StringConstraints(max_length=100_000)]
Language = Annotated[
    str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", max_length=10)
]
CategoryName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)
]
Query = Annotated[str, StringConstraints(max_length=200)]


class SolutionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    body: Body = ""
    is_public: bool = Field(
        False, description="Once published, visible to partners and portal users"
    )
    category_id: uuid.UUID | None = None
    language: Language = Field("en", description="Language tag of the article (en, de, pt-BR)")
    owner_id: uuid.UUID | None = Field(None, description="Defaults to the caller")


class SolutionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body | None = None
    is_public: bool | None = None
    category_id: uuid.UUID | None = None
    language: Language | None = None
    owner_id: uuid.UUID | None = None


class Solution(RecordOut):
    title: str
    body: str
    status: SolutionStatus = Field(
        description="draft -> reviewed -> published -> archived; changed by the workflow "
        "endpoints only"
    )
    is_public: bool
    category_id: uuid.UUID | None
    language: str
    published_at: datetime | None = Field(description="When it was last published")
    times_used: int = Field(description="How many cases it was used on")


class SolutionHit(BaseModel):
    """A search result: the solution without its body, with highlighted extracts. In
    `title_highlight` and `snippet` the text is HTML-escaped and the matched words are
    wrapped in `<mark>` … `</mark>`."""

    id: uuid.UUID
    title: str
    status: SolutionStatus
    is_public: bool
    category_id: uuid.UUID | None
    language: str
    published_at: datetime | None
    times_used: int
    rank: float = Field(description="Relevance (ts_rank_cd); higher is better")
    title_highlight: str
    snippet: str


class SolutionSearchPage(BaseModel):
    data: list[SolutionHit]
    next_cursor: str | None = None


class SolutionSuggest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Annotated[str, StringConstraints(max_length=255)] = ""
    description: Annotated[str, StringConstraints(max_length=32000)] = ""
    limit: int = Field(5, ge=1, le=20)


class SolutionSuggestion(BaseModel):
    """A published solution relevant to a case's subject and description."""

    id: uuid.UUID
    title: str
    rank: float
    times_used: int
    snippet: str = Field(description="HTML-escaped extract; matched words in `<mark>`")


class SolutionSuggestions(BaseModel):
    data: list[SolutionSuggestion]


# --- categories ----------------------------------------------------------------------------


class SolutionCategoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CategoryName
    description: Annotated[str, StringConstraints(max_length=4000)] | None = None
    parent_id: uuid.UUID | None = Field(None, description="The category above; none for the top")
    sort_order: int = Field(0, ge=0, le=100_000)


class SolutionCategoryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CategoryName | None = None
    description: Annotated[str, StringConstraints(max_length=4000)] | None = None
    parent_id: uuid.UUID | None = None
    sort_order: int | None = Field(None, ge=0, le=100_000)


class SolutionCategory(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    parent_id: uuid.UUID | None
    sort_order: int
    created_at: datetime
    updated_at: datetime


class SolutionCategoryPage(BaseModel):
    data: list[SolutionCategory]
    next_cursor: str | None = None
