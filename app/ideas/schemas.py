"""Idea shapes: ideas, votes, status changes and comments."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.models.ideas import IdeaStatus

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Body = Annotated[str, StringConstraints(max_length=32000)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
CommentBody = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)
]
Direction = Literal["up", "down"]


class IdeaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    body: Body = ""
    category: Category | None = None


class IdeaUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body | None = None
    category: Category | None = None


class Idea(BaseModel):
    id: uuid.UUID
    title: str
    body: str
    category: str | None
    status: IdeaStatus
    author_id: uuid.UUID
    author_name: str
    score: int = Field(description="Up votes minus down votes")
    up_votes: int
    down_votes: int
    comment_count: int
    my_vote: Direction | None = Field(description="The caller's vote, if any")
    status_changed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class IdeaPage(BaseModel):
    data: list[Idea]
    next_cursor: str | None = None


class IdeaVote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    direction: Direction = "up"


class IdeaStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: IdeaStatus
    comment: CommentBody | None = Field(
        None, description="Posted as the administrator's comment on the idea"
    )


class IdeaCommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: CommentBody


class IdeaComment(BaseModel):
    id: uuid.UUID
    idea_id: uuid.UUID
    author_id: uuid.UUID
    author_name: str
    body: str
    created_at: datetime


class IdeaCommentPage(BaseModel):
    data: list[IdeaComment]
    next_cursor: str | None = None
