"""Record access, in one place. Every read and write of a business record starts here.

``read_clause(model, principal, sharing)`` and ``write_clause(...)`` are the WHERE clauses that
keep a principal to the records it may see or change (``readable`` / ``writable`` apply them):

- administrators (and service principals, which act with the scopes they were granted) see all;
- otherwise the object's org-wide default decides, read from ``sharing_settings`` inside the
  same statement (an administrator's change applies to the next request of every process):
  ``public_read_write``: everyone sees and changes everything; ``public_read``: everyone sees
  everything, owners and the managers above them change it; ``private``: owners and the users in
  roles above the owner's role (the role hierarchy).

``sharing`` is the object's default in code: it applies only while ``sharing_settings`` has no
row for the object (the migration that adds an object seeds its row).

An object with a master record (``follow_parent``: line items of an opportunity, members of a
campaign) may also be set to ``controlled_by_parent``: whoever may read (change) the parent may
read (change) the record.

Partner and portal users see nothing here until the partner and portal features add their rules.
A record the principal may not see answers 404, never 403.
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, any_, exists, false, func, inspect, select, true
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.orm import aliased

from app.auth.principal import Principal, PrincipalKind
from app.models import Role, User
from app.models.sharing import Sharing, SharingSetting

_READS = (Sharing.public_read.value, Sharing.public_read_write.value)
# Objects that can follow their parent's access: object -> (the column holding the parent's id,
# a function giving the parent's model and default in code; called late, so declaration order
# does not matter).
_PARENTS: dict[str, tuple[str, Callable[[], tuple[Any, Sharing]]]] = {}


def object_of(model) -> str:
    """The object a model (or an alias of it) stands for: its table name, the key of
    ``sharing_settings`` and the change feed's ``object_type``."""
    return inspect(model).mapper.local_table.name


def org_wide_default(obj: str, sharing: Sharing = Sharing.private) -> ColumnElement[str]:
    """The object's org-wide default as SQL: an uncorrelated scalar subquery, which PostgreSQL
    runs once per statement (an InitPlan) before it touches the object's rows."""
    setting = (
        select(SharingSetting.internal_access).where(SharingSetting.object == obj).scalar_subquery()
    )
    return func.coalesce(setting, Sharing(sharing).value)


def follow_parent(model, column: str, parent: Callable[[], tuple[Any, Sharing]]) -> None:
    """Declare that records of ``model`` belong to the record ``column`` names, so that their
    org-wide default may be ``controlled_by_parent``."""
    _PARENTS[object_of(model)] = (column, parent)


def can_follow_parent(obj: str) -> bool:
    return obj in _PARENTS


def _parent_allows(model, obj: str, principal: Principal, setting, clause) -> ColumnElement[bool]:
    """With ``controlled_by_parent``: the parent passes ``clause`` (a correlated EXISTS, which
    PostgreSQL evaluates only when the setting, an InitPlan, says so)."""
    column, resolve = _PARENTS[obj]
    parent_model, parent_sharing = resolve()
    p = aliased(parent_model)
    allowed = exists().where(p.id == getattr(model, column), clause(p, principal, parent_sharing))
    return (setting == Sharing.controlled_by_parent.value) & allowed


def _subordinate_owner_ids(principal: Principal):
    """Users whose role is below the principal's role, at any depth."""
    below = (
        select(Role.id.label("id"))
        .where(Role.parent_id == principal.role_id)
        .cte("roles_below", recursive=True, nesting=True)
    )
    below = below.union_all(select(Role.id).where(Role.parent_id == below.c.id))
    return select(User.id).where(User.role_id.in_(select(below.c.id)))


def _owner_or_above(owner_id, principal: Principal) -> ColumnElement[bool]:
    own = owner_id == principal.user_id
    if principal.role_id is None:
        return own
    return own | owner_id.in_(_subordinate_owner_ids(principal))


def _sees_all(principal: Principal) -> bool:
    return principal.is_admin or (
        principal.kind == PrincipalKind.service and principal.partner_account_id is None
    )


def owner_read_clause(
    obj: str, owner_id, principal: Principal, sharing: Sharing = Sharing.private
) -> ColumnElement[bool]:
    """``read_clause`` for a record of ``obj`` owned by ``owner_id`` (any column or value): for
    rows that describe a record rather than hold it, such as a purge in the change feed."""
    if _sees_all(principal):
        return true()
    if principal.kind != PrincipalKind.user:
        return false()
    # = ANY(ARRAY[...]) rather than IN (...): plain bind parameters, so the statement compiles
    # once to SQL that can be prepared and reused (an IN list expands at execution time).
    readable = org_wide_default(obj, sharing) == any_(pg_array(_READS))
    return readable | _owner_or_above(owner_id, principal)


def read_clause(
    model, principal: Principal, sharing: Sharing = Sharing.private
) -> ColumnElement[bool]:
    obj = object_of(model)
    clause = owner_read_clause(obj, model.owner_id, principal, sharing)
    if obj in _PARENTS and principal.kind == PrincipalKind.user and not _sees_all(principal):
        setting = org_wide_default(obj, sharing)
        clause = clause | _parent_allows(model, obj, principal, setting, read_clause)
    return clause


def write_clause(
    model, principal: Principal, sharing: Sharing = Sharing.private
) -> ColumnElement[bool]:
    if _sees_all(principal):
        return true()
    if principal.kind != PrincipalKind.user:
        return false()
    obj = object_of(model)
    setting = org_wide_default(obj, sharing)
    clause = (setting == Sharing.public_read_write.value) | _owner_or_above(
        model.owner_id, principal
    )
    if obj in _PARENTS:
        clause = clause | _parent_allows(model, obj, principal, setting, write_clause)
    return clause


def readable(
    stmt: Select, model, principal: Principal, sharing: Sharing = Sharing.private
) -> Select:
    return stmt.where(read_clause(model, principal, sharing))


def writable(
    stmt: Select, model, principal: Principal, sharing: Sharing = Sharing.private
) -> Select:
    return stmt.where(write_clause(model, principal, sharing))


__all__ = [
    "Sharing",
    "can_follow_parent",
    "follow_parent",
    "object_of",
    "org_wide_default",
    "owner_read_clause",
    "read_clause",
    "readable",
    "writable",
    "write_clause",
]
