"""Record access, in one place. Every read and write of a business record starts here.

``readable(stmt, model, principal)`` and ``writable(...)`` add the WHERE clause that keeps a
principal to the records it may see or change:

- administrators (and service principals, which act with the scopes they were granted) see all;
- org-wide default ``public_read_write``: everyone sees and changes everything;
- ``public_read``: everyone sees everything; owners and the managers above them change it;
- ``private``: owners and the users in roles above the owner's role (the role hierarchy).

Partner and portal users see nothing here until the partner and portal features add their rules.
A record the principal may not see answers 404, never 403.
"""

import enum

from sqlalchemy import ColumnElement, Select, false, select, true

from app.auth.principal import Principal, PrincipalKind
from app.models import Role, User


class Sharing(enum.StrEnum):
    private = "private"
    public_read = "public_read"
    public_read_write = "public_read_write"


def _subordinate_owner_ids(principal: Principal):
    """Users whose role is below the principal's role, at any depth."""
    below = (
        select(Role.id.label("id"))
        .where(Role.parent_id == principal.role_id)
        .cte("roles_below", recursive=True, nesting=True)
    )
    below = below.union_all(select(Role.id).where(Role.parent_id == below.c.id))
    return select(User.id).where(User.role_id.in_(select(below.c.id)))


def _owner_or_above(model, principal: Principal) -> ColumnElement[bool]:
    own = model.owner_id == principal.user_id
    if principal.role_id is None:
        return own
    return own | model.owner_id.in_(_subordinate_owner_ids(principal))


def _sees_all(principal: Principal) -> bool:
    return principal.is_admin or (
        principal.kind == PrincipalKind.service and principal.partner_account_id is None
    )


def read_clause(model, principal: Principal, sharing: Sharing) -> ColumnElement[bool]:
    if _sees_all(principal):
        return true()
    if principal.kind != PrincipalKind.user:
        return false()
    if sharing in (Sharing.public_read, Sharing.public_read_write):
        return true()
    return _owner_or_above(model, principal)


def write_clause(model, principal: Principal, sharing: Sharing) -> ColumnElement[bool]:
    if _sees_all(principal):
        return true()
    if principal.kind != PrincipalKind.user:
        return false()
    if sharing == Sharing.public_read_write:
        return true()
    return _owner_or_above(model, principal)


def readable(stmt: Select, model, principal: Principal, sharing: Sharing) -> Select:
    return stmt.where(read_clause(model, principal, sharing))


def writable(stmt: Select, model, principal: Principal, sharing: Sharing) -> Select:
    return stmt.where(write_clause(model, principal, sharing))


__all__ = ["Sharing", "read_clause", "readable", "writable", "write_clause"]
