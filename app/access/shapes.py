"""Access statements built once per *kind* of principal.

An access clause depends on what kind of principal asks (its kind, admin flag, scopes, which ids
it has) and on which ids it has. :func:`template` gives a stand-in principal whose ids are bind
parameters, so a statement built from it can be cached under :func:`shape` and executed with
:func:`bind_values`: the same compiled SQL for every rep, only the values differ. Every id field
is a parameter, so no caller's id can be baked into a statement another caller reuses; so is
the list of users below a principal (``Principal.below``), whose shape is only whether it is
known and whether it is empty.
"""

from sqlalchemy import bindparam

from app.access import UUID_ARRAY
from app.auth.principal import Principal

_ID_FIELDS = ("client_pk", "user_id", "role_id", "partner_account_id", "contact_id")


def shape(principal: Principal) -> tuple:
    memo = principal.access_memo
    found = memo.get("shape")
    if found is None:
        found = memo["shape"] = (
            principal.kind,
            principal.is_admin,
            principal.scopes,
            principal.partner_role,
            *(getattr(principal, f) is None for f in _ID_FIELDS),
            None if principal.below is None else bool(principal.below),
        )
    return found


def template(principal: Principal) -> Principal:
    ids = {
        f: None if getattr(principal, f) is None else bindparam(f"access_{f}") for f in _ID_FIELDS
    }
    below = principal.below
    if below:
        below = bindparam("access_below", type_=UUID_ARRAY)
    return Principal(
        kind=principal.kind,
        scopes=principal.scopes,
        client_id="",
        is_admin=principal.is_admin,
        partner_role=principal.partner_role,
        below=below,
        **ids,
    )


def bind_values(principal: Principal) -> dict[str, object]:
    """The principal's ids as the bind parameters of its statements. The same dict every time
    for a principal: callers copy it (``{**bind_values(p), ...}``), never change it."""
    memo = principal.access_memo
    found = memo.get("values")
    if found is None:
        found = memo["values"] = {
            f"access_{f}": getattr(principal, f)
            for f in _ID_FIELDS
            if getattr(principal, f) is not None
        }
        if principal.below:
            found["access_below"] = list(principal.below)
    return found
