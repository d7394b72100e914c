"""customer portal (registrations, allowed domains, rate limits) and case satisfaction

Revision ID: 3fc0ffee000e
Revises: 2ec0ffee000d
Create Date: 2026-11-23 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3fc0ffee000e"
down_revision: str | None = "2ec0ffee000d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:
    return [
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
    ]


def upgrade() -> None:
    op.create_table(
        "portal_registrations",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("first_name", sa.String(length=80), nullable=True),
        sa.Column("last_name", sa.String(length=80), nullable=False),
        sa.Column("company", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="unverified", nullable=False),
        sa.Column("verify_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=20), nullable=True),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("contact_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('unverified', 'pending', 'approved', 'rejected', 'expired')",
            name=op.f("ck_portal_registrations_status"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_portal_registrations_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_portal_registrations_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_portal_registrations_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_registrations")),
    )
    op.create_index(
        "uq_portal_registrations_open_email",
        "portal_registrations",
        [sa.text("lower(email)")],
        unique=True,
        postgresql_where="status IN ('unverified', 'pending')",
    )
    op.create_index(
        "ix_portal_registrations_status", "portal_registrations", ["status", "id"], unique=False
    )
    op.create_table(
        "portal_domains",
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_portal_domains_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_domains")),
    )
    op.create_index(
        op.f("ix_portal_domains_account_id"), "portal_domains", ["account_id"], unique=False
    )
    op.create_index("uq_portal_domains_domain", "portal_domains", ["domain"], unique=True)
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_counters")),
    )
    op.add_column("cases", sa.Column("satisfaction_score", sa.SmallInteger(), nullable=True))
    op.add_column("cases", sa.Column("satisfaction_comment", sa.Text(), nullable=True))
    op.add_column("cases", sa.Column("satisfaction_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "cases", sa.Column("satisfaction_sent_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_check_constraint(
        op.f("ck_cases_satisfaction_score"), "cases", "satisfaction_score BETWEEN 1 AND 5"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_cases_satisfaction_score"), "cases", type_="check")
    for column in (
        "satisfaction_sent_at",
        "satisfaction_at",
        "satisfaction_comment",
        "satisfaction_score",
    ):
        op.drop_column("cases", column)
    op.drop_table("rate_limit_counters")
    op.drop_index("uq_portal_domains_domain", table_name="portal_domains")
    op.drop_index(op.f("ix_portal_domains_account_id"), table_name="portal_domains")
    op.drop_table("portal_domains")
    op.drop_index("ix_portal_registrations_status", table_name="portal_registrations")
    op.drop_index("uq_portal_registrations_open_email", table_name="portal_registrations")
    op.drop_table("portal_registrations")
