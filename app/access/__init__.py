"""Record access, in one place. Every read and write of a business record starts here.

``read_clause(model, principal, sharing)`` and ``write_clause(...)`` are the WHERE clauses that
keep a principal to the records it may see or change (``readable`` / ``writable`` apply them):

- administrators (and service principals, which act with the scopes they were granted) see all;
- otherwise the object's org-wide default decides, read from ``sharing_settings`` inside the
  same statement (an administrator's change applies to the next request of every process):
  ``public_read_write``: everyone sees and changes everything; ``public_read``: everyone sees
  everything, owners and the managers above them change it; ``private``: owners and the users in
  roles above the owner's role (the role hierarchy); records owned by partner users also roll up
  to the owner and the channel manager of their partner account. Who is below an internal
  user comes with their principal where it was loaded with it (``Principal.below``: one bind
  parameter, or no term at all for a rep with nobody below), otherwise from subqueries.

Records without an owner are kept to a principal with the same pieces: ``sees_all``, ``made_by``
(the sender of an email, the creator of a mass email) and ``addressed_to`` (a lead offer to a
partner account or one of its reps).

``sharing`` is the object's default in code: it applies only while ``sharing_settings`` has no
row for the object (the migration that adds an object seeds its row).

An object with a master record (``follow_parent``: line items of an opportunity, members of a
campaign) may also be set to ``controlled_by_parent``: whoever may read (change) the parent may
read (change) the record.

Partner principals (partner users, and API clients bound to a partner account, which act as
that account's partner manager) never go through the org-wide default: as with Salesforce's
external sharing model, everything is private to them and they see only what is *shared with
their partner account* (``_partner_clause``): records owned by one of the account's partner
users, leads and opportunities whose ``partner_account_id`` is the account, the partner's own
account record, contacts of that account, and children (line items, campaign members) of a
record they may see. Partner managers see all of that; partner reps only what they own (plus
their partner account's record and their own contact, read-only). Portal users (customers,
``_portal_clause``) read the cases of their own contact and that contact, and what the vendor
publishes to everyone outside (``publish_externally``: published public solutions), which
partners and portal users read and never change; portal users change nothing through the generic
write paths (their workflows lock rows through the read clause: app/portal).
A record the principal may not see answers 404, never 403.
"""

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    any_,
    bindparam,
    exists,
    false,
    func,
    inspect,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.orm import aliased

from app.auth.principal import Principal, PrincipalKind
from app.models import Account, PartnerRole, PriceBook, Role, User, UserKind
from app.models.sharing import Sharing, SharingSetting

UUID_ARRAY = ARRAY(UUID(as_uuid=True))  # a list of ids as one bind parameter
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


def _rolled_up_partner_users(principal: Principal):
    """Partner users of the partner accounts the principal owns or is channel manager of: as in
    Salesforce, a partner's roles roll up to its account owner, so the vendor's people who run
    the relationship see (and change) what the partner's users own."""
    # Not only enabled partners: a disabled partner's records stay with the vendor's people.
    managed = select(Account.id).where(
        or_(
            Account.owner_id == principal.user_id,
            Account.channel_manager_id == principal.user_id,
        ),
    )
    return select(User.id).where(
        User.partner_account_id.in_(managed), User.kind == UserKind.partner
    )


# An internal user's principal carries the users below it when there are at most this many
# (app/auth/principal.py); beyond, the access clauses look them up in SQL: in a generic plan
# ``owner_id = ANY($n)`` compares element by element, a hashed subquery looks up
# (docs/PERFORMANCE.md, "Get by id").
MAX_BELOW = 16


def owners_below(user_id, role_id) -> CompoundSelect:
    """The users whose records roll up to an internal user (``user_id``, ``role_id``: values or
    SQL expressions): partner users of the partner accounts it manages, users in roles below its
    role. What a principal loads into ``Principal.below``, in the same terms as the clauses'
    subqueries."""
    stand_in = SimpleNamespace(user_id=user_id, role_id=role_id)
    return union(_rolled_up_partner_users(stand_in), _subordinate_owner_ids(stand_in))


def _below(principal: Principal):
    """The principal's ``below`` as SQL: None where it has none; a bind parameter where it is a
    template's (app/access/shapes.py) or a list of ids."""
    below = principal.below
    if not isinstance(below, tuple):
        return below
    return bindparam(None, list(below), type_=UUID_ARRAY) if below else None


def _owner_or_above(
    owner_id, principal: Principal, shared: ColumnElement[bool] | None = None
) -> ColumnElement[bool]:
    """The principal owns the record, or ``shared`` (the org-wide default's test) holds, or the
    owner is below the principal (a partner user it manages, a user in a role below). In that
    order: PostgreSQL evaluates an OR's terms as written and stops at the first true one, and
    runs the org-wide default's InitPlan only when a term needs it, so a principal's own records
    (most of a rep's reads) never pay for the lookup.

    The owners below come with the principal where it was loaded with them (``below``): a rep
    with nobody below has no such term at all, a manager ``owner_id = ANY(ids)``, since
    PostgreSQL sets up every subquery of a statement on each execution, reached or not."""
    clause = owner_id == principal.user_id
    if shared is not None:
        clause = clause | shared
    if principal.below is not None:
        below = _below(principal)
        return clause if below is None else clause | (owner_id == any_(below))
    if principal.user_id is not None:
        clause = clause | owner_id.in_(_rolled_up_partner_users(principal))
    if principal.role_id is None:
        return clause
    return clause | owner_id.in_(_subordinate_owner_ids(principal))


def sees_all(principal: Principal) -> bool:
    """Administrators, and API clients not bound to a partner account: every clause is true."""
    return principal.is_admin or (
        principal.kind == PrincipalKind.service and principal.partner_account_id is None
    )


# Objects every partner principal may read (active records only, never change): the product
# catalogue. Price books and their entries: those shared with the partner's tier (below).
_PARTNER_CATALOGUE = {"products"}
# Objects the vendor keeps for a partner account (``partner_account_id``): every partner principal
# of that account may read them (a rep needs the MDF budget to ask for funds), none may change
# them (app/mdf, app/scorecards).
_PARTNER_ACCOUNT_READ_ONLY = {"mdf_budgets", "partner_plans"}
# Objects the vendor publishes to everyone outside the company (published public solutions):
# partner and portal principals read the rows that pass the object's condition, never change
# them (``publish_externally``, declared by the object's package).
_PUBLISHED: dict[str, Callable[[Any], ColumnElement[bool]]] = {}


def publish_externally(model, condition: Callable[[Any], ColumnElement[bool]]) -> None:
    """Partners and portal users may read the records of ``model`` for which ``condition(model)``
    holds (a condition on the row only: the same for every external principal)."""
    _PUBLISHED[object_of(model)] = condition


def is_partner(principal: Principal) -> bool:
    """A partner user, or an API client bound to a partner account (a partner's own system)."""
    return principal.partner_account_id is not None and principal.kind in (
        PrincipalKind.partner_user,
        PrincipalKind.service,
    )


def partner_wide(principal: Principal) -> bool:
    """Sees everything shared with its partner account: a partner manager, or a client bound
    to the partner account (which acts for the partner as a whole)."""
    return is_partner(principal) and (
        principal.kind == PrincipalKind.service
        or principal.partner_role == PartnerRole.partner_manager
    )


def partner_users(principal: Principal):
    """Ids of the users of the principal's partner account (active or not: the records of a
    deactivated partner user still belong to the partner)."""
    return select(User.id).where(
        User.partner_account_id == principal.partner_account_id, User.kind == UserKind.partner
    )


def made_by(column, principal: Principal) -> ColumnElement[bool]:
    """``column`` (the user who made a record that has no owner: an email's sender, a mass
    email's creator, a lead offer's maker) is the principal's user. Never true for a principal
    without a user (an API client); ``sees_all`` is the caller's to add."""
    if principal.user_id is None:
        return false()
    return column == principal.user_id


def addressed_to(account_column, user_column, principal: Principal) -> ColumnElement[bool]:
    """What the vendor addresses to the principal's partner account (``account_column``), maybe
    to one of its users (``user_column``, null for the partner as a whole): a partner manager or
    a client bound to the account sees all of it, a partner rep what is addressed to the partner
    as a whole or to itself. Nothing for other principals."""
    if not is_partner(principal):
        return false()
    clause = account_column == principal.partner_account_id
    if partner_wide(principal):
        return clause
    return clause & or_(user_column.is_(None), user_column == principal.user_id)


def _partner_owner(owner_id, principal: Principal) -> ColumnElement[bool]:
    if partner_wide(principal):
        return owner_id.in_(partner_users(principal))
    if principal.user_id is None:
        return false()
    return owner_id == principal.user_id


def _tier_listed(book, principal: Principal) -> ColumnElement[bool]:
    """The price book lists the tier of the principal's (enabled) partner account."""
    tier = (
        select(Account.partner_tier)
        .where(Account.id == principal.partner_account_id, Account.is_partner.is_(True))
        .scalar_subquery()
    )
    return tier == any_(book.partner_tiers)


def _partner_clause(model, principal: Principal, *, write: bool) -> ColumnElement[bool]:
    """What is shared with the principal's partner account. Built only from the principal's
    own fields (bind parameters in cached statements, app/access/shapes.py)."""
    obj = object_of(model)
    if obj in _PUBLISHED:
        return false() if write else _PUBLISHED[obj](model)
    if obj in _PARTNER_ACCOUNT_READ_ONLY:
        return false() if write else model.partner_account_id == principal.partner_account_id
    columns = inspect(model).mapper.columns
    clause = _partner_owner(model.owner_id, principal) if "owner_id" in columns else false()
    account = principal.partner_account_id
    if partner_wide(principal):
        if "partner_account_id" in columns:
            clause = clause | (model.partner_account_id == account)
        if obj == "contacts":
            clause = clause | (model.account_id == account)
    elif not write and obj == "contacts" and principal.contact_id is not None:
        clause = clause | (model.id == principal.contact_id)
    if obj == "cases" and not write and principal.user_id is not None:
        # A case a partner user submitted stays visible to them once routed to an agent.
        clause = clause | (model.created_by == principal.user_id)
    if obj == "accounts" and not write:
        # The partner's own account record, read-only: its program fields are the vendor's.
        clause = clause | (model.id == account)
    if obj in _PARTNER_CATALOGUE and not write:
        clause = clause | model.is_active.is_(True)
    if obj == "price_books" and not write:
        clause = clause | (model.is_active.is_(True) & _tier_listed(model, principal))
    if obj == "price_book_entries" and not write:
        book = aliased(PriceBook)
        clause = clause | (
            model.is_active.is_(True)
            & exists().where(
                book.id == model.price_book_id,
                book.deleted_at.is_(None),
                book.is_active.is_(True),
                _tier_listed(book, principal),
            )
        )
    if obj in _PARENTS:
        column, resolve = _PARENTS[obj]
        parent = aliased(resolve()[0])
        clause = clause | exists().where(
            parent.id == getattr(model, column),
            parent.deleted_at.is_(None),
            _partner_clause(parent, principal, write=write),
        )
    return clause


def _portal_clause(model, principal: Principal) -> ColumnElement[bool]:
    """What a customer portal user reads: what the vendor publishes externally, the cases of
    their own contact ("my cases") and that contact. Never anything else, and never a change
    through the generic write paths: the portal's workflows (create, comment, close, reopen in
    app/portal) lock their rows through this read clause."""
    obj = object_of(model)
    if obj in _PUBLISHED:
        return _PUBLISHED[obj](model)
    if principal.contact_id is None:
        # Never compare with a missing id: ``contact_id == None`` would be ``IS NULL``.
        return false()
    if obj == "cases":
        return model.contact_id == principal.contact_id
    if obj == "contacts":
        return model.id == principal.contact_id
    return false()


def owner_read_clause(
    obj: str, owner_id, principal: Principal, sharing: Sharing = Sharing.private
) -> ColumnElement[bool]:
    """``read_clause`` for a record of ``obj`` owned by ``owner_id`` (any column or value): for
    rows that describe a record rather than hold it, such as a purge in the change feed."""
    if sees_all(principal):
        return true()
    if is_partner(principal):
        return _partner_owner(owner_id, principal)
    if principal.kind != PrincipalKind.user:
        return false()
    # = ANY(ARRAY[...]) rather than IN (...): plain bind parameters, so the statement compiles
    # once to SQL that can be prepared and reused (an IN list expands at execution time).
    readable = org_wide_default(obj, sharing) == any_(pg_array(_READS))
    return _owner_or_above(owner_id, principal, readable)


def read_clause(
    model, principal: Principal, sharing: Sharing = Sharing.private
) -> ColumnElement[bool]:
    if is_partner(principal):
        return _partner_clause(model, principal, write=False)
    if principal.kind == PrincipalKind.portal_user:
        return _portal_clause(model, principal)
    obj = object_of(model)
    clause = owner_read_clause(obj, model.owner_id, principal, sharing)
    if obj in _PARENTS and principal.kind == PrincipalKind.user and not sees_all(principal):
        setting = org_wide_default(obj, sharing)
        clause = clause | _parent_allows(model, obj, principal, setting, read_clause)
    return clause


def write_clause(
    model, principal: Principal, sharing: Sharing = Sharing.private
) -> ColumnElement[bool]:
    if sees_all(principal):
        return true()
    if is_partner(principal):
        return _partner_clause(model, principal, write=True)
    if principal.kind != PrincipalKind.user:
        return false()
    obj = object_of(model)
    setting = org_wide_default(obj, sharing)
    clause = _owner_or_above(model.owner_id, principal, setting == Sharing.public_read_write.value)
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
    "addressed_to",
    "can_follow_parent",
    "follow_parent",
    "is_partner",
    "made_by",
    "object_of",
    "org_wide_default",
    "owner_read_clause",
    "partner_users",
    "partner_wide",
    "publish_externally",
    "read_clause",
    "readable",
    "sees_all",
    "writable",
    "write_clause",
]
