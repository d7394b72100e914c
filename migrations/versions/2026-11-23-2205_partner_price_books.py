"""partner price books: price_books.partner_tiers

Revision ID: fbc0ffee000b
Revises: 1dc0ffee000c
Create Date: 2026-11-23 22:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "fbc0ffee000b"
down_revision: str | None = "1dc0ffee000c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "price_books",
        sa.Column(
            "partner_tiers",
            postgresql.ARRAY(sa.String(length=20)),
            server_default="{}",
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("price_books", "partner_tiers")
