"""NOTIFY accord_auth when who is below whom changes (Principal.below, app/auth/cache.py)

A cached internal user's principal carries the users whose records roll up to them: users in
roles below their role, partner users of the partner accounts they own or are channel manager
of. Those change with a new user (``users`` INSERT), a role's parent, and an account's owner or
channel manager; a new account has no partner users yet.

Revision ID: 41c0ffee0010
Revises: 40c0ffee000f
Create Date: 2026-11-25 01:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "41c0ffee0010"
down_revision: str | None = "40c0ffee000f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USERS_BEFORE = (
    "UPDATE OF is_active, kind, is_admin, role_id, partner_account_id, partner_role, contact_id"
    " OR DELETE"
)
TRIGGERS = {
    "roles_auth_notify": ("roles", "UPDATE OF parent_id OR DELETE"),
    "accounts_auth_notify": ("accounts", "UPDATE OF owner_id, channel_manager_id OR DELETE"),
}


def _users_trigger(events: str) -> None:
    op.execute("DROP TRIGGER users_auth_notify ON users")
    op.execute(
        f"CREATE TRIGGER users_auth_notify AFTER {events} ON users "
        "FOR EACH STATEMENT EXECUTE FUNCTION accord_auth_notify()"
    )


def upgrade() -> None:
    _users_trigger(f"INSERT OR {USERS_BEFORE}")
    for name, (table, events) in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {events} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION accord_auth_notify()"
        )


def downgrade() -> None:
    for name, (table, _) in TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    _users_trigger(USERS_BEFORE)
