"""The request path a newcomer walks: URL -> <domain>/router.py -> service.py -> repository.py.
Routers are imported by the app alone; each object's Resource and Records are declared in its
domain's repository.py."""

import ast
from pathlib import Path

import pytest

from app.kit.resource import OPERATIONS, RECORDS, REGISTRY, Records, build_router

APP = Path(__file__).resolve().parents[1] / "app"


def _modules():
    for path in sorted(APP.rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def _imported(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def test_only_the_app_imports_routers():
    found = []
    for path, tree in _modules():
        rel = path.relative_to(APP.parent)
        if rel.as_posix() == "app/main.py":
            continue
        for line, module in _imported(tree):
            parts = module.split(".")
            if len(parts) == 3 and parts[0] == "app" and parts[2] == "router":
                found.append(f"{rel}:{line} imports {module}")
    assert not found, (
        "Only app/main.py imports routers; import the other domain's repository or service:\n"
        + "\n".join(found)
    )


def test_resources_are_declared_in_repositories():
    found = []
    for path, tree in _modules():
        if path.name == "repository.py" or path.parent.name == "kit":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in (
                "Resource",
                "Records",
            ):
                found.append(f"{path.relative_to(APP.parent)}:{node.lineno}")
    assert not found, "Declare Resource and Records in <domain>/repository.py:\n" + "\n".join(found)


def test_each_resource_has_one_records():
    assert set(RECORDS) == set(REGISTRY) and len(REGISTRY) >= 25
    with pytest.raises(ValueError, match="has its Records already"):
        Records(REGISTRY["leads"])


def test_a_router_leaves_out_the_operations_it_is_not_given():
    records = RECORDS["deal-registrations"]
    router = build_router(records, operations=OPERATIONS - {"create", "delete"})
    routes = {(r.name, m) for r in router.routes for m in r.methods}
    assert ("list", "GET") in routes and ("get", "GET") in routes
    assert ("create", "POST") not in routes and ("delete", "DELETE") not in routes
    with pytest.raises(ValueError, match="unknown operations"):
        build_router(records, operations=frozenset({"list", "explode"}))
