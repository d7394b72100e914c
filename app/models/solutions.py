"""Solutions: the knowledge base (Salesforce's Solution object, the forerunner of Knowledge).

A solution is an article (title and body) that moves draft -> reviewed -> published ->
archived; only published solutions marked public reach partners and portal users. Categories
form a small hierarchy managed by administrators. ``search_vector`` is maintained by PostgreSQL
itself (a generated column, title weighted above body) and indexed with GIN, so full-text search
never sees a stale vector and no application code keeps it in step.
"""

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, OwnedMixin, RecordMixin, TimestampMixin

SEARCH_VECTOR = (
    "setweight(to_tsvector('english', coalesce(title,'')), 'A') || "
    "setweight(to_tsvector('english', coalesce(body,'')), 'B')"
)


class SolutionStatus(enum.StrEnum):
    draft = "draft"
    reviewed = "reviewed"
    published = "published"
    archived = "archived"


class SolutionCategory(IdMixin, TimestampMixin, Base):
    __tablename__ = "solution_categories"

    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("solution_categories.id", ondelete="RESTRICT"),
        index=True,
    )
    sort_order: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        # Names are unique among siblings; top-level categories are siblings too.
        UniqueConstraint("parent_id", "name", postgresql_nulls_not_distinct=True),
    )


class Solution(RecordMixin, OwnedMixin, Base):
    __tablename__ = "solutions"

    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[SolutionStatus] = mapped_column(
        Enum(SolutionStatus, name="solution_status", native_enum=False, length=20),
        default=SolutionStatus.draft,
        server_default="draft",
    )
    # Salesforce's IsPublished ("Public"): visible to partners and portal users once published.
    is_public: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("solution_categories.id", ondelete="RESTRICT"),
        index=True,
    )
    language: Mapped[str] = mapped_column(String(10), default="en", server_default="en")
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # How many cases used it (bumped by the case link): "Most Used Solutions".
    times_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Never loaded with the record (info["unread"]): only search reads it, in SQL.
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR, Computed(SEARCH_VECTOR, persisted=True), deferred=True, info={"unread": True}
    )

    __table_args__ = (
        CheckConstraint("times_used >= 0", name="times_used_not_negative"),
        Index("ix_solutions_search_vector", "search_vector", postgresql_using="gin"),
        Index("ix_solutions_status", "status"),
        Index("ix_solutions_published_at", "published_at"),
        Index("ix_solutions_times_used", "times_used"),
        Index("ix_solutions_created_at", "created_at"),
        Index("ix_solutions_updated_at", "updated_at"),
    )


__all__ = ["SEARCH_VECTOR", "Solution", "SolutionCategory", "SolutionStatus"]
