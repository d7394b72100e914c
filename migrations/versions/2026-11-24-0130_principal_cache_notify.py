"""NOTIFY accord_auth when what a token's principal rests on changes (app/auth/cache.py)

Revision ID: 40c0ffee000f
Revises: 3fc0ffee000e
Create Date: 2026-11-24 01:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "40c0ffee000f"
down_revision: str | None = "3fc0ffee000e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Statement level: one NOTIFY per changing statement, delivered when its transaction commits
# (and folded into one per transaction). Only the columns a principal is made of.
TRIGGERS = {
    "users_auth_notify": (
        "users",
        "UPDATE OF is_active, kind, is_admin, role_id, partner_account_id, partner_role,"
        " contact_id OR DELETE",
    ),
    "api_clients_auth_notify": (
        "api_clients",
        "UPDATE OF client_id, allowed_scopes, revoked_at, partner_account_id OR DELETE",
    ),
    "oauth_grants_auth_notify": ("oauth_grants", "UPDATE OF revoked_at OR DELETE"),
    "oauth_revoked_access_tokens_auth_notify": (
        "oauth_revoked_access_tokens",
        "INSERT OR UPDATE OR DELETE",
    ),
}


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION accord_auth_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('accord_auth', TG_TABLE_NAME);
            RETURN NULL;
        END $$
        """
    )
    for name, (table, events) in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {events} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION accord_auth_notify()"
        )


def downgrade() -> None:
    for name, (table, _) in TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS accord_auth_notify()")
