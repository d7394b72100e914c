"""recycle bin and sharing settings

Cascade deletion marker (``deleted_with``) and recycle-bin indexes on every record table, the
purged record's owner on change feed entries, and the org-wide defaults as data
(``sharing_settings``), seeded with what the objects declared in code.

Revision ID: d3c0ffee0003
Revises: c2c0ffee0002
Create Date: 2026-11-23 18:08:09.547163
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d3c0ffee0003"
down_revision: str | None = "c2c0ffee0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD_TABLES = (
    "accounts",
    "campaign_members",
    "campaigns",
    "contacts",
    "events",
    "leads",
    "notes",
    "opportunities",
    "opportunity_line_items",
    "price_book_entries",
    "price_books",
    "products",
    "tasks",
)

# The org-wide defaults the objects declared in code (Resource.sharing) until now.
SHARING = {
    "accounts": "private",
    "campaign_members": "private",
    "campaigns": "public_read",
    "contacts": "private",
    "events": "private",
    "leads": "private",
    "notes": "private",
    "opportunities": "private",
    "opportunity_line_items": "private",
    "price_book_entries": "public_read",
    "price_books": "public_read",
    "products": "public_read",
    "tasks": "private",
}


def upgrade() -> None:
    sharing = op.create_table(
        "sharing_settings",
        sa.Column("object", sa.String(length=60), nullable=False),
        sa.Column("internal_access", sa.String(length=30), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "internal_access IN "
            "('private', 'public_read', 'public_read_write', 'controlled_by_parent')",
            name=op.f("ck_sharing_settings_internal_access_known"),
        ),
        sa.PrimaryKeyConstraint("object", name=op.f("pk_sharing_settings")),
    )
    op.bulk_insert(
        sharing, [{"object": obj, "internal_access": access} for obj, access in SHARING.items()]
    )
    op.add_column("changes", sa.Column("owner_id", sa.UUID(), nullable=True))
    for table in RECORD_TABLES:
        op.add_column(table, sa.Column("deleted_with", sa.UUID(), nullable=True))
        op.create_index(
            f"ix_{table}_deleted_with",
            table,
            ["deleted_with"],
            unique=False,
            postgresql_where=sa.text("deleted_with IS NOT NULL"),
        )
        op.create_index(
            f"ix_{table}_recycle_bin",
            table,
            ["deleted_at", "id"],
            unique=False,
            postgresql_where=sa.text("deleted_at IS NOT NULL"),
        )


def downgrade() -> None:
    for table in reversed(RECORD_TABLES):
        op.drop_index(f"ix_{table}_recycle_bin", table_name=table)
        op.drop_index(f"ix_{table}_deleted_with", table_name=table)
        op.drop_column(table, "deleted_with")
    op.drop_column("changes", "owner_id")
    op.drop_table("sharing_settings")
