"""email-to-case, web-to-case and solutions on cases: case_emails, case_attachments,
case_solutions, web_to_case_counters; the key that signs case thread tokens and web forms

Revision ID: 2ec0ffee000d
Revises: fbc0ffee000b
Create Date: 2026-11-23 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "2ec0ffee000d"
down_revision: str | None = "fbc0ffee000b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_emails",
        sa.Column("case_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.Column("from_address", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("email_message_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("comment_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_emails_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["email_message_id"],
            ["email_messages.id"],
            name=op.f("fk_case_emails_email_message_id_email_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["case_comments.id"],
            name=op.f("fk_case_emails_comment_id_case_comments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_emails")),
    )
    op.create_index("uq_case_emails_message_id", "case_emails", ["message_id"], unique=True)
    op.create_index("ix_case_emails_case_id_id", "case_emails", ["case_id", "id"])

    op.create_table(
        "case_attachments",
        sa.Column("case_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("case_email_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("is_inline", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("content_id", sa.String(length=255), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_attachments_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_email_id"],
            ["case_emails.id"],
            name=op.f("fk_case_attachments_case_email_id_case_emails"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachments")),
    )
    op.create_index("ix_case_attachments_case_id_id", "case_attachments", ["case_id", "id"])

    op.create_table(
        "case_solutions",
        sa.Column("case_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("solution_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("created_by", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_solutions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["solution_id"],
            ["solutions.id"],
            name=op.f("fk_case_solutions_solution_id_solutions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_solutions")),
    )
    op.create_index(
        "uq_case_solutions_case_id_solution_id",
        "case_solutions",
        ["case_id", "solution_id"],
        unique=True,
    )
    op.create_index("ix_case_solutions_solution_id", "case_solutions", ["solution_id"])

    op.create_table(
        "web_to_case_counters",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name="pk_web_to_case_counters"),
    )
    op.create_index(
        "ix_web_to_case_counters_window_start", "web_to_case_counters", ["window_start"]
    )
    # The key that signs case thread tokens and web-to-case form tokens: random, generated by
    # the server (two gen_random_uuid() make 244 random bits).
    op.execute(
        "INSERT INTO server_secrets (name, value) VALUES ('case_threading', "
        "replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))"
    )


def downgrade() -> None:
    op.execute("DELETE FROM server_secrets WHERE name = 'case_threading'")
    op.drop_index("ix_web_to_case_counters_window_start", table_name="web_to_case_counters")
    op.drop_table("web_to_case_counters")
    op.drop_index("ix_case_solutions_solution_id", table_name="case_solutions")
    op.drop_index("uq_case_solutions_case_id_solution_id", table_name="case_solutions")
    op.drop_table("case_solutions")
    op.drop_index("ix_case_attachments_case_id_id", table_name="case_attachments")
    op.drop_table("case_attachments")
    op.drop_index("ix_case_emails_case_id_id", table_name="case_emails")
    op.drop_index("uq_case_emails_message_id", table_name="case_emails")
    op.drop_table("case_emails")
