"""solutions and ideas: the knowledge base (solutions, solution categories, full-text search
vector) and the ideas community (ideas, one vote per user, comments)

Revision ID: 1dc0ffee000c
Revises: b7c0ffee0007
Create Date: 2026-11-23 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "1dc0ffee000c"
down_revision: str | None = "b7c0ffee0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "solution_categories",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.UUID(), nullable=True),
        sa.Column("sort_order", sa.Integer(), server_default="0", nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["solution_categories.id"],
            name=op.f("fk_solution_categories_parent_id_solution_categories"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_solution_categories")),
        sa.UniqueConstraint(
            "parent_id",
            "name",
            name=op.f("uq_solution_categories_parent_id_name"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(
        op.f("ix_solution_categories_parent_id"), "solution_categories", ["parent_id"], unique=False
    )
    op.create_table(
        "solutions",
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "reviewed",
                "published",
                "archived",
                name="solution_status",
                native_enum=False,
                length=20,
            ),
            server_default="draft",
            nullable=False,
        ),
        sa.Column("is_public", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("category_id", sa.UUID(), nullable=True),
        sa.Column("language", sa.String(length=10), server_default="en", nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("times_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('english', coalesce(title,'')), 'A') || setweight(to_tsvector('english', coalesce(body,'')), 'B')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.UUID(), nullable=True),
        sa.Column("deleted_with", sa.UUID(), nullable=True),
        sa.Column(
            "custom_fields",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("times_used >= 0", name=op.f("ck_solutions_times_used_not_negative")),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["solution_categories.id"],
            name=op.f("fk_solutions_category_id_solution_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_solutions_owner_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_solutions")),
    )
    op.create_index(op.f("ix_solutions_category_id"), "solutions", ["category_id"], unique=False)
    op.create_index("ix_solutions_created_at", "solutions", ["created_at"], unique=False)
    op.create_index(
        "ix_solutions_deleted_with",
        "solutions",
        ["deleted_with"],
        unique=False,
        postgresql_where=sa.text("deleted_with IS NOT NULL"),
    )
    op.create_index(op.f("ix_solutions_owner_id"), "solutions", ["owner_id"], unique=False)
    op.create_index("ix_solutions_published_at", "solutions", ["published_at"], unique=False)
    op.create_index(
        "ix_solutions_recycle_bin",
        "solutions",
        ["deleted_at", "id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.create_index(
        "ix_solutions_search_vector",
        "solutions",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index("ix_solutions_status", "solutions", ["status"], unique=False)
    op.create_index("ix_solutions_times_used", "solutions", ["times_used"], unique=False)
    op.create_index("ix_solutions_updated_at", "solutions", ["updated_at"], unique=False)
    op.create_table(
        "ideas",
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("category", sa.String(length=80), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "under_review",
                "planned",
                "delivered",
                "not_planned",
                name="idea_status",
                native_enum=False,
                length=20,
            ),
            server_default="new",
            nullable=False,
        ),
        sa.Column("author_id", sa.UUID(), nullable=False),
        sa.Column("score", sa.Integer(), server_default="0", nullable=False),
        sa.Column("up_votes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("down_votes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("comment_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("comment_count >= 0", name=op.f("ck_ideas_comment_count_not_negative")),
        sa.CheckConstraint("score = up_votes - down_votes", name=op.f("ck_ideas_score_is_tally")),
        sa.CheckConstraint(
            "up_votes >= 0 AND down_votes >= 0", name=op.f("ck_ideas_votes_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_ideas_author_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ideas")),
    )
    op.create_index(op.f("ix_ideas_author_id"), "ideas", ["author_id"], unique=False)
    op.create_index(op.f("ix_ideas_category"), "ideas", ["category"], unique=False)
    op.create_index("ix_ideas_created_at", "ideas", ["created_at", "id"], unique=False)
    op.create_index("ix_ideas_score", "ideas", ["score", "id"], unique=False)
    op.create_index("ix_ideas_status", "ideas", ["status"], unique=False)
    op.create_table(
        "idea_comments",
        sa.Column("idea_id", sa.UUID(), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_idea_comments_author_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["ideas.id"],
            name=op.f("fk_idea_comments_idea_id_ideas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idea_comments")),
    )
    op.create_index(
        op.f("ix_idea_comments_author_id"), "idea_comments", ["author_id"], unique=False
    )
    op.create_index("ix_idea_comments_idea_id", "idea_comments", ["idea_id", "id"], unique=False)
    op.create_table(
        "idea_votes",
        sa.Column("idea_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("value", sa.SmallInteger(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("value IN (-1, 1)", name=op.f("ck_idea_votes_value_up_or_down")),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_idea_votes_idea_id_ideas"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_idea_votes_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idea_votes")),
        sa.UniqueConstraint("idea_id", "user_id", name=op.f("uq_idea_votes_idea_id_user_id")),
    )
    op.create_index(op.f("ix_idea_votes_user_id"), "idea_votes", ["user_id"], unique=False)

    # Knowledge is shared inside the company: every internal user reads solutions, their owners
    # (and the managers above them) change them.
    op.execute(
        "INSERT INTO sharing_settings (object, internal_access) VALUES "
        "('solutions', 'public_read') ON CONFLICT (object) DO NOTHING"
    )


def downgrade() -> None:
    op.execute("DELETE FROM sharing_settings WHERE object = 'solutions'")
    op.drop_table("idea_votes")
    op.drop_table("idea_comments")
    op.drop_table("ideas")
    op.drop_table("solutions")
    op.drop_table("solution_categories")
