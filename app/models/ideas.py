"""Ideas: the customer and partner community's suggestions (Salesforce Ideas), with one vote
per user and comments. The idea row carries its tallies (score, up and down votes, comments),
kept by atomic ``UPDATE ... SET score = score + :d`` in the transaction that records the vote,
and CHECK constraints keep them consistent with each other."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin


class IdeaStatus(enum.StrEnum):
    new = "new"
    under_review = "under_review"
    planned = "planned"
    delivered = "delivered"
    not_planned = "not_planned"


class Idea(IdMixin, TimestampMixin, Base):
    __tablename__ = "ideas"

    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    category: Mapped[str | None] = mapped_column(String(80), index=True)
    status: Mapped[IdeaStatus] = mapped_column(
        Enum(IdeaStatus, name="idea_status", native_enum=False, length=20),
        default=IdeaStatus.new,
        server_default="new",
    )
    author_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    score: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    up_votes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    down_votes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    comment_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_changed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        CheckConstraint("up_votes >= 0 AND down_votes >= 0", name="votes_not_negative"),
        CheckConstraint("score = up_votes - down_votes", name="score_is_tally"),
        CheckConstraint("comment_count >= 0", name="comment_count_not_negative"),
        Index("ix_ideas_status", "status"),
        Index("ix_ideas_score", "score", "id"),
        Index("ix_ideas_created_at", "created_at", "id"),
    )


class IdeaVote(IdMixin, TimestampMixin, Base):
    __tablename__ = "idea_votes"

    idea_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ideas.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    value: Mapped[int] = mapped_column(SmallInteger)  # +1 up, -1 down

    __table_args__ = (
        # One vote per user and idea: the database decides a race between two of them.
        UniqueConstraint("idea_id", "user_id"),
        CheckConstraint("value IN (-1, 1)", name="value_up_or_down"),
    )


class IdeaComment(IdMixin, TimestampMixin, Base):
    __tablename__ = "idea_comments"

    idea_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ideas.id", ondelete="CASCADE")
    )
    author_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_idea_comments_idea_id", "idea_id", "id"),)


__all__ = ["Idea", "IdeaComment", "IdeaStatus", "IdeaVote"]
