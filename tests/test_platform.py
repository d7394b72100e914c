"""Cross-cutting behaviour: operations endpoints, problem+json errors, request ids, the OpenAPI
contract and the migrations matching the models."""

import json
import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.cli import dump_openapi
from app.kit.db import Base
from tests.factories import bearer, service_token

ROOT = Path(__file__).resolve().parents[1]


async def test_healthz(client):
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_reports_database_at_head(client):
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["status"] == "ready"


async def test_metrics_count_requests(client):
    await client.get("/healthz")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert 'accord_http_requests_total{method="GET",route="/healthz",status="200"}' in r.text


async def test_request_id_is_echoed_or_made(client):
    r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    made = [(await client.get("/healthz")).headers["x-request-id"] for _ in range(50)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in made), made
    assert len(set(made)) == 50
    # A header that could inject into logs is replaced, not echoed.
    r = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces"


async def test_unknown_path_is_404_problem_with_request_id(client):
    r = await client.get("/api/v1/nothing-here", headers={"X-Request-ID": "rid-404"})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "not_found" and body["status"] == 404
    assert body["request_id"] == "rid-404"


async def test_wrong_method_is_405_problem(client):
    r = await client.delete("/healthz")
    assert r.status_code == 405
    assert r.json()["code"] == "method_not_allowed"


async def test_malformed_json_is_400(client, session):
    tok, _ = await service_token(client, session, "admin")
    r = await client.post(
        "/api/v1/roles",
        content=b'{"name": ',
        headers={**bearer(tok), "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["code"] == "malformed_body"


async def test_validation_error_is_422_with_field_errors(client, session):
    tok, _ = await service_token(client, session, "admin")
    r = await client.post(
        "/api/v1/users", json={"email": "not-an-email", "name": ""}, headers=bearer(tok)
    )
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_error"
    fields = {e["field"] for e in body["errors"]}
    assert {"email", "name"} <= fields
    assert all({"field", "code", "message"} <= set(e) for e in body["errors"])


async def test_oversized_body_is_413(client, session, app):
    tok, _ = await service_token(client, session, "admin")
    big = {"name": "x", "description": "y" * (app.state.settings.max_body_bytes + 10)}
    r = await client.post("/api/v1/roles", json=big, headers=bearer(tok))
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"


async def test_oversized_chunked_body_is_413(client, session, app):
    tok, _ = await service_token(client, session, "admin")
    limit = app.state.settings.max_body_bytes

    async def chunks():
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    r = await client.post(
        "/api/v1/roles",
        content=chunks(),
        headers={**bearer(tok), "Content-Type": "application/json"},
    )
    assert r.status_code == 413


async def test_unexpected_error_is_generic_500_problem(client, app):
    @app.get("/boom", tags=["ops"])
    async def boom():
        raise RuntimeError("secret internals")

    r = await client.get("/boom", headers={"X-Request-ID": "rid-500"})
    assert r.status_code == 500
    assert r.headers["x-request-id"] == "rid-500"
    body = r.json()
    assert body["code"] == "internal_error" and body["request_id"] == "rid-500"
    assert "secret internals" not in r.text and "Traceback" not in r.text


async def test_committed_openapi_equals_served(client):
    served = (await client.get("/openapi.json")).json()
    committed = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    assert committed == served, "openapi/openapi.json is stale: run `accord openapi`"
    assert (ROOT / "openapi" / "openapi.json").read_text() == dump_openapi(served)


async def test_every_operation_has_tag_and_tag_prefixed_operation_id(client):
    spec = (await client.get("/openapi.json")).json()
    seen = set()
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            assert op.get("tags"), (method, path)
            tag = op["tags"][0]
            assert op["operationId"].startswith(tag + "_"), op["operationId"]
            assert op["operationId"] not in seen
            seen.add(op["operationId"])
            assert op.get("summary"), op["operationId"]
    assert {"users_create", "oauth_token", "api_clients_rotate_secret", "me_get"} <= seen


async def test_security_scheme_lists_scopes(client):
    spec = (await client.get("/openapi.json")).json()
    scheme = spec["components"]["securitySchemes"]["OAuth2"]
    for flow in ("clientCredentials", "authorizationCode", "password"):
        assert "leads:convert" in scheme["flows"][flow]["scopes"]
    create = spec["paths"]["/api/v1/users"]["post"]
    assert create["security"] == [{"OAuth2": ["admin"]}]


async def test_no_duplicate_input_output_schemas(client):
    spec = (await client.get("/openapi.json")).json()
    names = spec["components"]["schemas"]
    assert not [n for n in names if n.endswith("-Input") or n.endswith("-Output")]


async def test_migrations_match_the_models(engine):
    import app.models  # noqa: F401

    def diff(sync_conn):
        ctx = MigrationContext.configure(
            sync_conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(ctx, Base.metadata)

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == [], f"models and migrations differ; add a migration: {changes}"


async def test_readyz_is_503_for_an_unmigrated_database(settings, empty_engine):
    import httpx

    from app.main import create_app

    app = create_app(settings, engine=empty_engine, session_factory=object())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["code"] == "migrations_pending"


async def test_telemetry_asks_for_providers_only_where_an_sdk_can_provide_them(
    settings, engine, monkeypatch
):
    """FastAPI's OpenTelemetry looks up the global providers on every request. Without the
    OpenTelemetry SDK there can be none, and the app does not ask; with it, FastAPI's own
    behaviour is kept (spans wherever a provider is set)."""
    import importlib.util

    from opentelemetry import trace

    from app import main
    from tests.conftest import _client

    asked = []
    real = trace.get_tracer_provider
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: asked.append(1) or real())

    async def healthz() -> None:
        app = main.create_app(settings, engine=engine)
        async with _client(app) as c:
            assert (await c.get("/healthz")).status_code == 200

    if importlib.util.find_spec("opentelemetry.sdk") is not None:
        pytest.skip("the OpenTelemetry SDK is installed here")
    await healthz()
    assert asked == []

    real_find = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: object() if name == "opentelemetry.sdk" else real_find(name, *a),
    )
    await healthz()
    assert asked  # the providers were looked up, as FastAPI does by default
