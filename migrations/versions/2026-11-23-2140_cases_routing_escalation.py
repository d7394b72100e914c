"""cases, queues, business hours, case assignment and escalation rules

Cases (with a ``case_number`` sequence), case comments, queues of agents, business hours, case
assignment rules and case escalation rules; ``picklist_values.is_waiting`` (case statuses that
wait on the customer); the case picklists (status, priority, origin, type, reason) and the
objects' org-wide defaults.

Revision ID: eac0ffee000a
Revises: c8c0ffee0008
Create Date: 2026-11-23 21:40:00.000000
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "eac0ffee000a"
down_revision: str | None = "c8c0ffee0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (value, is_default, is_closed, is_waiting)
STATUSES = [
    ("New", True, False, False),
    ("Working", False, False, False),
    ("Waiting on Customer", False, False, True),
    ("Escalated", False, False, False),
    ("Closed", False, True, False),
]
# Highest first: escalation raises a case one step up this order.
PRIORITIES = [("High", False), ("Medium", True), ("Low", False)]
PLAIN = {
    "origin": ["Phone", "Email", "Web", "Chat", "Portal"],
    "type": ["Technical Support", "Billing Question", "Feature Request", "Account Update"],
    "reason": [
        "Installation",
        "Performance",
        "Breakdown",
        "Instructions not clear",
        "Billing",
        "Feedback",
        "New problem",
        "Existing problem",
        "Other",
    ],
}
SHARING = {
    "cases": "public_read",
    "queues": "public_read",
    "business_hours": "public_read",
    "case_assignment_rules": "public_read",
    "case_escalation_rules": "public_read",
}


def _picklist_rows() -> list[dict]:
    rows = []

    def add(field: str, i: int, value: str, default: bool = False, **attrs) -> None:
        rows.append(
            {
                "id": uuid.uuid4(),
                "object": "cases",
                "field": field,
                "value": value,
                "label": value,
                "sort_order": (i + 1) * 10,
                "is_active": True,
                "is_default": default,
                **attrs,
            }
        )

    for i, (value, default, closed, waiting) in enumerate(STATUSES):
        add("status", i, value, default, is_closed=closed, is_waiting=waiting)
    for i, (value, default) in enumerate(PRIORITIES):
        add("priority", i, value, default)
    for field, values in PLAIN.items():
        for i, value in enumerate(values):
            add(field, i, value)
    return rows


def upgrade() -> None:
    op.execute("CREATE SEQUENCE case_number_seq START WITH 1001")
    op.create_table(
        "business_hours",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("time_zone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column(
            "hours",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "holidays",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
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
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_business_hours_owner_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_hours")),
    )
    op.create_index(
        "ix_business_hours_deleted_with",
        "business_hours",
        ["deleted_with"],
        unique=False,
        postgresql_where=sa.text("deleted_with IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_business_hours_owner_id"), "business_hours", ["owner_id"], unique=False
    )
    op.create_index(
        "ix_business_hours_recycle_bin",
        "business_hours",
        ["deleted_at", "id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.create_table(
        "case_assignment_rules",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "entries",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
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
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_case_assignment_rules_owner_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_assignment_rules")),
    )
    op.create_index(
        "ix_case_assignment_rules_deleted_with",
        "case_assignment_rules",
        ["deleted_with"],
        unique=False,
        postgresql_where=sa.text("deleted_with IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_case_assignment_rules_owner_id"),
        "case_assignment_rules",
        ["owner_id"],
        unique=False,
    )
    op.create_index(
        "ix_case_assignment_rules_recycle_bin",
        "case_assignment_rules",
        ["deleted_at", "id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.create_table(
        "case_escalation_rules",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "entries",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
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
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_case_escalation_rules_owner_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_escalation_rules")),
    )
    op.create_index(
        "ix_case_escalation_rules_deleted_with",
        "case_escalation_rules",
        ["deleted_with"],
        unique=False,
        postgresql_where=sa.text("deleted_with IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_case_escalation_rules_owner_id"),
        "case_escalation_rules",
        ["owner_id"],
        unique=False,
    )
    op.create_index(
        "ix_case_escalation_rules_recycle_bin",
        "case_escalation_rules",
        ["deleted_at", "id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.create_table(
        "queues",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "member_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("last_assigned_id", sa.UUID(), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_queues_owner_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queues")),
    )
    op.create_index(
        "ix_queues_deleted_with",
        "queues",
        ["deleted_with"],
        unique=False,
        postgresql_where=sa.text("deleted_with IS NOT NULL"),
    )
    op.create_index(op.f("ix_queues_owner_id"), "queues", ["owner_id"], unique=False)
    op.create_index(
        "ix_queues_recycle_bin",
        "queues",
        ["deleted_at", "id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.create_table(
        "cases",
        sa.Column("case_number", sa.String(length=30), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=80), server_default="New", nullable=False),
        sa.Column("priority", sa.String(length=40), nullable=True),
        sa.Column("origin", sa.String(length=40), nullable=True),
        sa.Column("type", sa.String(length=80), nullable=True),
        sa.Column("reason", sa.String(length=80), nullable=True),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("contact_id", sa.UUID(), nullable=True),
        sa.Column("product_id", sa.UUID(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("supplied_email", sa.String(length=320), nullable=True),
        sa.Column("supplied_name", sa.String(length=120), nullable=True),
        sa.Column("supplied_phone", sa.String(length=40), nullable=True),
        sa.Column("partner_account_id", sa.UUID(), nullable=True),
        sa.Column("queue_id", sa.UUID(), nullable=True),
        sa.Column("is_closed", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_escalated", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalation_rule_id", sa.UUID(), nullable=True),
        sa.Column("escalation_entry", sa.Integer(), nullable=True),
        sa.Column("first_response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_seconds", sa.Integer(), server_default="0", nullable=False),
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
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_cases_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_cases_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["escalation_rule_id"],
            ["case_escalation_rules.id"],
            name=op.f("fk_cases_escalation_rule_id_case_escalation_rules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_cases_owner_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["partner_account_id"],
            ["accounts.id"],
            name=op.f("fk_cases_partner_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_cases_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.id"], name=op.f("fk_cases_queue_id_queues"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index(op.f("ix_cases_account_id"), "cases", ["account_id"], unique=False)
    op.create_index(op.f("ix_cases_contact_id"), "cases", ["contact_id"], unique=False)
    op.create_index("ix_cases_created_at", "cases", ["created_at"], unique=False)
    op.create_index(
        "ix_cases_deleted_with",
        "cases",
        ["deleted_with"],
        unique=False,
        postgresql_where=sa.text("deleted_with IS NOT NULL"),
    )
    op.create_index(op.f("ix_cases_owner_id"), "cases", ["owner_id"], unique=False)
    op.create_index(
        op.f("ix_cases_partner_account_id"), "cases", ["partner_account_id"], unique=False
    )
    op.create_index(op.f("ix_cases_queue_id"), "cases", ["queue_id"], unique=False)
    op.create_index(
        "ix_cases_recycle_bin",
        "cases",
        ["deleted_at", "id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.create_index("ix_cases_status", "cases", ["status"], unique=False)
    op.create_index("ix_cases_updated_at", "cases", ["updated_at"], unique=False)
    op.create_index("uq_cases_case_number", "cases", ["case_number"], unique=True)
    op.create_table(
        "case_comments",
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("is_public", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_comments_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_comments")),
    )
    op.create_index("ix_case_comments_case_id_id", "case_comments", ["case_id", "id"], unique=False)
    op.add_column("picklist_values", sa.Column("is_waiting", sa.Boolean(), nullable=True))
    picklist = sa.table(
        "picklist_values",
        sa.column("id", sa.UUID()),
        sa.column("object", sa.String()),
        sa.column("field", sa.String()),
        sa.column("value", sa.String()),
        sa.column("label", sa.String()),
        sa.column("sort_order", sa.Integer()),
        sa.column("is_active", sa.Boolean()),
        sa.column("is_default", sa.Boolean()),
        sa.column("is_closed", sa.Boolean()),
        sa.column("is_waiting", sa.Boolean()),
    )
    rows = _picklist_rows()
    for row in rows:
        row.setdefault("is_closed", None)
        row.setdefault("is_waiting", None)
    op.bulk_insert(picklist, rows)
    sharing = sa.table(
        "sharing_settings",
        sa.column("object", sa.String()),
        sa.column("internal_access", sa.String()),
    )
    op.bulk_insert(sharing, [{"object": k, "internal_access": v} for k, v in SHARING.items()])


def downgrade() -> None:
    sharing = sa.table("sharing_settings", sa.column("object", sa.String()))
    op.execute(sa.delete(sharing).where(sharing.c.object.in_(list(SHARING))))
    op.execute("DELETE FROM picklist_values WHERE object = 'cases'")
    op.drop_column("picklist_values", "is_waiting")
    op.drop_table("case_comments")
    op.drop_table("cases")
    op.drop_table("queues")
    op.drop_table("case_escalation_rules")
    op.drop_table("case_assignment_rules")
    op.drop_table("business_hours")
    op.execute("DROP SEQUENCE case_number_seq")
