"""Email (templates, mass sends, the message log with tracking, the link-signing secret), in-app
notifications, and the task subtype that logs sent emails.

Revision ID: f5c0ffee0005
Revises: e4c0ffee0004
Create Date: 2026-11-23 18:46:16.612149
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "f5c0ffee0005"
down_revision: str | None = "e4c0ffee0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    secrets = op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )
    op.create_table(
        "email_templates",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("text_body", sa.Text(), nullable=True),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("folder", sa.String(length=80), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
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
            name=op.f("fk_email_templates_owner_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_templates")),
    )
    op.create_index(
        "ix_email_templates_created_at", "email_templates", ["created_at"], unique=False
    )
    op.create_index(
        "ix_email_templates_deleted_with",
        "email_templates",
        ["deleted_with"],
        unique=False,
        postgresql_where=sa.text("deleted_with IS NOT NULL"),
    )
    op.create_index("ix_email_templates_folder", "email_templates", ["folder"], unique=False)
    op.create_index("ix_email_templates_name", "email_templates", ["name"], unique=False)
    op.create_index(
        op.f("ix_email_templates_owner_id"), "email_templates", ["owner_id"], unique=False
    )
    op.create_index(
        "ix_email_templates_recycle_bin",
        "email_templates",
        ["deleted_at", "id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.create_index(
        "ix_email_templates_updated_at", "email_templates", ["updated_at"], unique=False
    )
    op.create_table(
        "notifications",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("link", sa.String(length=2048), nullable=True),
        sa.Column("object_type", sa.String(length=60), nullable=True),
        sa.Column("record_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_user", "notifications", ["user_id", "id"], unique=False)
    op.create_index(
        "ix_notifications_user_unread",
        "notifications",
        ["user_id", "id"],
        unique=False,
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.create_table(
        "mass_emails",
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("template_id", sa.UUID(), nullable=True),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=True),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("filters", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("track", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("recipients", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped_opted_out", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped_no_email", sa.Integer(), server_default="0", nullable=False),
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
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_mass_emails_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["email_templates.id"],
            name=op.f("fk_mass_emails_template_id_email_templates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mass_emails")),
    )
    op.create_index(
        op.f("ix_mass_emails_campaign_id"), "mass_emails", ["campaign_id"], unique=False
    )
    op.create_index(op.f("ix_mass_emails_created_by"), "mass_emails", ["created_by"], unique=False)
    op.create_table(
        "email_messages",
        sa.Column("status", sa.String(length=20), server_default="queued", nullable=False),
        sa.Column("mass_email_id", sa.UUID(), nullable=True),
        sa.Column("template_id", sa.UUID(), nullable=True),
        sa.Column("related_type", sa.String(length=40), nullable=True),
        sa.Column("related_id", sa.UUID(), nullable=True),
        sa.Column("task_id", sa.UUID(), nullable=True),
        sa.Column("sent_by", sa.UUID(), nullable=True),
        sa.Column("from_address", sa.String(length=320), nullable=False),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("to_name", sa.String(length=255), nullable=True),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("text_body", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("track", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("tracking_token", sa.String(length=40), nullable=False),
        sa.Column("first_opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("open_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("first_clicked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("click_count", sa.Integer(), server_default="0", nullable=False),
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
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'failed')", name=op.f("ck_email_messages_status")
        ),
        sa.ForeignKeyConstraint(
            ["mass_email_id"],
            ["mass_emails.id"],
            name=op.f("fk_email_messages_mass_email_id_mass_emails"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["email_templates.id"],
            name=op.f("fk_email_messages_template_id_email_templates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_messages")),
    )
    op.create_index(
        op.f("ix_email_messages_mass_email_id"), "email_messages", ["mass_email_id"], unique=False
    )
    op.create_index(
        "ix_email_messages_related", "email_messages", ["related_type", "related_id"], unique=False
    )
    op.create_index(op.f("ix_email_messages_sent_by"), "email_messages", ["sent_by"], unique=False)
    op.create_index(
        "uq_email_messages_tracking_token", "email_messages", ["tracking_token"], unique=True
    )
    op.create_table(
        "email_clicks",
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("count", sa.Integer(), server_default="1", nullable=False),
        sa.Column("first_clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["email_messages.id"],
            name=op.f("fk_email_clicks_message_id_email_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_clicks")),
    )
    op.create_index(
        "uq_email_clicks_message_url", "email_clicks", ["message_id", "url"], unique=True
    )
    op.add_column(
        "tasks", sa.Column("subtype", sa.String(length=20), server_default="Task", nullable=False)
    )
    # The key that signs tracked links: random, generated by the server (gen_random_uuid() is a
    # cryptographically strong source; two make 244 random bits).
    op.execute(
        sa.insert(secrets).values(
            name="email_tracking",
            value=sa.func.replace(
                sa.cast(sa.func.gen_random_uuid(), sa.Text)
                + sa.cast(sa.func.gen_random_uuid(), sa.Text),
                "-",
                "",
            ),
        )
    )
    op.execute(
        "INSERT INTO sharing_settings (object, internal_access) "
        "VALUES ('email_templates', 'public_read')"
    )


def downgrade() -> None:
    op.execute("DELETE FROM sharing_settings WHERE object = 'email_templates'")
    op.drop_column("tasks", "subtype")
    op.drop_index("uq_email_clicks_message_url", table_name="email_clicks")
    op.drop_table("email_clicks")
    op.drop_index("uq_email_messages_tracking_token", table_name="email_messages")
    op.drop_index(op.f("ix_email_messages_sent_by"), table_name="email_messages")
    op.drop_index("ix_email_messages_related", table_name="email_messages")
    op.drop_index(op.f("ix_email_messages_mass_email_id"), table_name="email_messages")
    op.drop_table("email_messages")
    op.drop_index(op.f("ix_mass_emails_created_by"), table_name="mass_emails")
    op.drop_index(op.f("ix_mass_emails_campaign_id"), table_name="mass_emails")
    op.drop_table("mass_emails")
    op.drop_index(
        "ix_notifications_user_unread",
        table_name="notifications",
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.drop_index("ix_notifications_user", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_email_templates_updated_at", table_name="email_templates")
    op.drop_index(
        "ix_email_templates_recycle_bin",
        table_name="email_templates",
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.drop_index(op.f("ix_email_templates_owner_id"), table_name="email_templates")
    op.drop_index("ix_email_templates_name", table_name="email_templates")
    op.drop_index("ix_email_templates_folder", table_name="email_templates")
    op.drop_index(
        "ix_email_templates_deleted_with",
        table_name="email_templates",
        postgresql_where=sa.text("deleted_with IS NOT NULL"),
    )
    op.drop_index("ix_email_templates_created_at", table_name="email_templates")
    op.drop_table("email_templates")
    op.drop_table("server_secrets")
