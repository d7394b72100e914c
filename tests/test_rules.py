"""Rules of the code base, checked over its source with ``ast``.

Record access lives in app/access: every clause that keeps a principal to the records it may see
or change is built there (``read_clause``, ``write_clause``, ``made_by``, ``addressed_to``...),
so that a change to the sharing model is made, and reviewed, in one place. Outside app/access a
module must not build such a clause itself in SQL:

- compare a column that says whom a record belongs to or who made it (``OWNERSHIP``) with one of
  the principal's ids (``IDENTITY``);
- use the principal's place in the role hierarchy (``role_id``, ``below``) in SQL, or walk the
  hierarchy itself (a recursive CTE over ``Role``);
- decide itself which principals see every record (``is_admin`` or an unbound service client).

"In SQL" means a column of a mapped class (``Lead.owner_id``, an ``aliased`` one, a parameter
``model``, ``resource.model.owner_id``, ``records.m.owner_id``), never a loaded row compared in
Python (``lead.owner_id == principal.user_id``), and never an assignment
(``owner_id=principal.user_id`` on a create). A principal is a parameter annotated
``Principal`` or a name ``principal``. A principal's id first copied into a local name is not
followed: the rule catches the usual shape, review the rest.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
ACCESS = APP / "access"

# Columns that say whom a record belongs to (its owner, the partner account or rep it is shared
# with or addressed to) or, for records without an owner, who made it.
OWNERSHIP = frozenset(
    {"owner_id", "partner_account_id", "partner_user_id", "created_by", "sent_by", "offered_by"}
)
# The principal's ids.
IDENTITY = frozenset({"user_id", "partner_account_id", "role_id", "contact_id", "below"})
# The principal's place in the role hierarchy: in SQL, only app/access uses it.
HIERARCHY = frozenset({"role_id", "below"})
# SQL comparison methods of a column.
COMPARISONS = frozenset(
    {"in_", "not_in", "is_", "is_not", "is_distinct_from", "is_not_distinct_from", "__eq__"}
)
# Mapped attributes of a model reached through an object: ``resource.model.x``, ``records.m.x``.
MODEL_ATTRIBUTES = frozenset({"model", "m"})


def _mapped_classes() -> frozenset[str]:
    names = set()
    for path in (APP / "models").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                names.add(node.name)
    return frozenset(names)


MAPPED = _mapped_classes()


def _mentions_principal(annotation: ast.expr | None) -> bool:
    return annotation is not None and any(
        isinstance(n, ast.Name) and n.id == "Principal" for n in ast.walk(annotation)
    )


class _Checker(ast.NodeVisitor):
    def __init__(self, path: Path):
        self.path = path.relative_to(ROOT)
        self.found: list[str] = []
        self.principals: list[set[str]] = [{"principal"}]
        self.models: list[set[str]] = [set(MAPPED)]

    def report(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{self.path}:{node.lineno}: {what}")

    # Scopes: a function's principal parameters and the model aliases it assigns.

    def _function(self, node) -> None:
        args = node.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        principals = {a.arg for a in params if _mentions_principal(a.annotation)}
        self.principals.append(self.principals[-1] | principals)
        self.models.append(set(self.models[-1]) | {a.arg for a in params if a.arg == "model"})
        for child in ast.walk(node):
            if isinstance(child, ast.Assign) and self._is_model_source(child.value):
                self.models[-1].update(t.id for t in child.targets if isinstance(t, ast.Name))
        self.generic_visit(node)
        self.principals.pop()
        self.models.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.module.startswith("app.models"):
            self.models[-1].update(a.asname for a in node.names if a.asname and a.name in MAPPED)

    def _is_model_source(self, value: ast.expr) -> bool:
        if isinstance(value, ast.Call):
            f = value.func
            return (isinstance(f, ast.Name) and f.id == "aliased") or (
                isinstance(f, ast.Attribute) and f.attr == "aliased"
            )
        return isinstance(value, ast.Attribute) and value.attr in MODEL_ATTRIBUTES

    # What an expression is.

    def _column(self, node: ast.expr) -> str | None:
        """The column's name when ``node`` is a column of a mapped class in SQL."""
        if not isinstance(node, ast.Attribute):
            return None
        base = node.value
        if isinstance(base, ast.Name) and base.id in self.models[-1]:
            return node.attr
        if isinstance(base, ast.Attribute) and base.attr in MODEL_ATTRIBUTES:
            return node.attr
        if isinstance(base, ast.Call) and self._is_model_source(base):
            return node.attr
        return None

    def _identity(self, node: ast.expr) -> str | None:
        """The principal's id that ``node`` is, or passes on (``any_(principal.below)``)."""
        if (
            isinstance(node, ast.Attribute)
            and node.attr in IDENTITY
            and isinstance(node.value, ast.Name)
            and node.value.id in self.principals[-1]
        ):
            return node.attr
        inner = node.args if isinstance(node, ast.Call) else None
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            inner = node.elts
        if inner:
            for arg in inner:
                found = self._identity(arg)
                if found:
                    return found
        return None

    def _pair(self, node: ast.AST, left: ast.expr, right: ast.expr) -> None:
        for col, other in ((left, right), (right, left)):
            column, identity = self._column(col), self._identity(other)
            if column is None or identity is None:
                continue
            if column in OWNERSHIP:
                self.report(
                    node,
                    f"compares {ast.unparse(col)} with the principal's {identity} in SQL: an "
                    "ownership filter",
                )
                return
            if identity in HIERARCHY:
                self.report(
                    node,
                    f"uses the principal's {identity} in SQL ({ast.unparse(col)}): the role "
                    "hierarchy",
                )
                return

    # The rules.

    def visit_Compare(self, node: ast.Compare) -> None:
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.Eq | ast.NotEq):
                self._pair(node, left, right)
            left = right
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr in COMPARISONS and node.args:
            self._pair(node, f.value, node.args[0])
        if isinstance(f, ast.Attribute) and f.attr == "cte" and self._recursive_over_role(node):
            self.report(node, "walks the role hierarchy (a recursive CTE over Role)")
        self.generic_visit(node)

    def _recursive_over_role(self, node: ast.Call) -> bool:
        recursive = any(
            k.arg == "recursive" and isinstance(k.value, ast.Constant) and k.value.value
            for k in node.keywords
        )
        return recursive and any(
            isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "Role"
            for n in ast.walk(node.func)
        )

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        if isinstance(node.op, ast.Or):
            names = list(ast.walk(node))
            admin = any(
                isinstance(n, ast.Attribute)
                and n.attr == "is_admin"
                and isinstance(n.value, ast.Name)
                and n.value.id in self.principals[-1]
                for n in names
            )
            service = any(
                isinstance(n, ast.Attribute)
                and n.attr == "service"
                and isinstance(n.value, ast.Name)
                and n.value.id == "PrincipalKind"
                for n in names
            )
            if admin and service:
                self.report(node, "decides which principals see every record (sees_all)")
        self.generic_visit(node)


def violations(path: Path, source: str | None = None) -> list[str]:
    checker = _Checker(path)
    source = path.read_text() if source is None else source
    checker.visit(ast.parse(source, str(path)))
    return checker.found


def test_no_record_access_filter_outside_app_access():
    found = []
    for path in sorted(APP.rglob("*.py")):
        if ACCESS in path.parents:
            continue
        found += violations(path)
    assert not found, (
        "Record access is built in app/access only (read_clause, write_clause, owner_read_clause, "
        "made_by, addressed_to, sees_all, is_partner, partner_wide, partner_users); use those, "
        "or add a small documented function there:\n  " + "\n  ".join(found)
    )


def _flags(source: str) -> list[str]:
    return violations(APP / "example.py", source)


def test_the_rule_catches_ownership_filters():
    assert _flags(
        "def f(principal):\n    return select(Lead).where(Lead.owner_id == principal.user_id)\n"
    )
    assert _flags(
        "def f(who: Principal):\n"
        "    return LeadOffer.partner_account_id == who.partner_account_id\n"
    )
    assert _flags(
        "def f(principal, resource):\n"
        "    m = resource.model\n"
        "    return m.owner_id.in_([principal.user_id])\n"
    )
    assert _flags("def f(model, principal):\n    return model.owner_id == principal.user_id\n")
    assert _flags("def f(principal):\n    return User.role_id == principal.role_id\n")
    assert _flags("def f(principal):\n    return Lead.owner_id == any_(principal.below)\n")
    assert _flags(
        "def f(principal):\n"
        "    return principal.is_admin or principal.kind == PrincipalKind.service\n"
    )
    assert _flags(
        "def f():\n"
        "    return select(Role.id).where(Role.parent_id == 1).cte('below', recursive=True)\n"
    )


def test_the_rule_leaves_legitimate_code_alone():
    # A create sets the owner; a loaded row is compared in Python; the principal's own rows;
    # a filter on who deleted a record, on top of read_clause.
    assert not _flags(
        "def f(principal, lead, m):\n"
        "    Lead(owner_id=principal.user_id)\n"
        "    values = {'owner_id': principal.user_id}\n"
        "    if lead.owner_id != principal.user_id:\n"
        "        pass\n"
        "    select(User).where(User.id == principal.user_id)\n"
        "    select(Contact).where(Contact.id == principal.contact_id)\n"
        "    select(IdeaVote).where(IdeaVote.user_id == principal.user_id)\n"
        "    return m.deleted_by == principal.user_id\n"
    )
