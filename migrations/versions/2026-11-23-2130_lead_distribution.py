"""lead distribution: lead offers (direct and shark tank), distribution rules,
leads.product_interest

Revision ID: c8c0ffee0008
Revises: d9c0ffee0009
Create Date: 2026-11-23 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c8c0ffee0008"
down_revision: str | None = "d9c0ffee0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MODE = ("direct", "shark_tank")
ON_EXPIRY = ("extend", "redistribute", "none")
STATUS = ("offered", "accepted", "declined", "expired", "withdrawn", "taken")


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=20)


def _timestamps() -> list[sa.Column]:
    return [
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
    ]


def upgrade() -> None:
    op.create_table(
        "distribution_rules",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("sort_order", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "countries", postgresql.ARRAY(sa.String(length=80)), server_default="{}", nullable=False
        ),
        sa.Column(
            "states", postgresql.ARRAY(sa.String(length=80)), server_default="{}", nullable=False
        ),
        sa.Column(
            "product_interests",
            postgresql.ARRAY(sa.String(length=255)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("min_score", sa.Integer(), nullable=True),
        sa.Column(
            "partner_tiers",
            postgresql.ARRAY(sa.String(length=20)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "partner_account_ids",
            postgresql.ARRAY(sa.UUID()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("mode", _enum(MODE, "distribution_rule_mode"), nullable=False),
        sa.Column("on_expiry", _enum(ON_EXPIRY, "distribution_rule_on_expiry"), nullable=False),
        sa.Column("time_limit_seconds", sa.Integer(), nullable=False),
        sa.Column("max_extensions", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "time_limit_seconds > 0", name=op.f("ck_distribution_rules_time_limit_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distribution_rules")),
    )
    op.create_index(
        "ix_distribution_rules_order", "distribution_rules", ["sort_order", "id"], unique=False
    )
    op.create_table(
        "lead_offers",
        sa.Column("lead_id", sa.UUID(), nullable=False),
        sa.Column("partner_account_id", sa.UUID(), nullable=False),
        sa.Column("partner_user_id", sa.UUID(), nullable=True),
        sa.Column("distribution_id", sa.UUID(), nullable=False),
        sa.Column("rule_id", sa.UUID(), nullable=True),
        sa.Column("mode", _enum(MODE, "lead_offer_mode"), nullable=False),
        sa.Column(
            "status",
            _enum(STATUS, "lead_offer_status"),
            server_default="offered",
            nullable=False,
        ),
        sa.Column("on_expiry", _enum(ON_EXPIRY, "lead_offer_on_expiry"), nullable=False),
        sa.Column("time_limit_seconds", sa.Integer(), nullable=False),
        sa.Column("extensions", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_extensions", sa.Integer(), server_default="1", nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("offered_by", sa.UUID(), nullable=True),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responded_by", sa.UUID(), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "time_limit_seconds > 0", name=op.f("ck_lead_offers_time_limit_positive")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_offers_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["offered_by"],
            ["users.id"],
            name=op.f("fk_lead_offers_offered_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["partner_account_id"],
            ["accounts.id"],
            name=op.f("fk_lead_offers_partner_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_user_id"],
            ["users.id"],
            name=op.f("fk_lead_offers_partner_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["responded_by"],
            ["users.id"],
            name=op.f("fk_lead_offers_responded_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["distribution_rules.id"],
            name=op.f("fk_lead_offers_rule_id_distribution_rules"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_offers")),
    )
    op.create_index(
        op.f("ix_lead_offers_distribution_id"), "lead_offers", ["distribution_id"], unique=False
    )
    op.create_index(
        "ix_lead_offers_inbox",
        "lead_offers",
        ["partner_account_id", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'offered'"),
    )
    op.create_index(op.f("ix_lead_offers_lead_id"), "lead_offers", ["lead_id"], unique=False)
    op.create_index(
        op.f("ix_lead_offers_partner_account_id"),
        "lead_offers",
        ["partner_account_id"],
        unique=False,
    )
    op.create_index(
        "uq_lead_offers_accepted",
        "lead_offers",
        ["lead_id"],
        unique=True,
        postgresql_where=sa.text("status = 'accepted'"),
    )
    op.add_column("leads", sa.Column("product_interest", sa.String(length=255), nullable=True))


def downgrade() -> None:
    op.drop_column("leads", "product_interest")
    op.drop_table("lead_offers")
    op.drop_index("ix_distribution_rules_order", table_name="distribution_rules")
    op.drop_table("distribution_rules")
