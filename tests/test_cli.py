"""The command line as a user runs it: `accord serve` on a fresh data folder (starting the
embedded PostgreSQL when no DATABASE_URL is set), then `accord create-client` and a token."""

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ACCORD = str(Path(sys.executable).with_name("accord"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cli_env(tmp_path, database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env.pop("DATABASE_URL", None)
    env["ACCORD_DATA_DIR"] = str(tmp_path / "data")
    env["ACCORD_LOG_JSON"] = "true"
    if os.environ.get("TEST_DATABASE_URL"):
        # Against a system server, serve uses the run's test database instead of embedding.
        env["DATABASE_URL"] = database_url
    return env


def _run(env, *args) -> str:
    out = subprocess.run(
        [ACCORD, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_serve_then_create_client_then_token_then_me(cli_env, tmp_path):
    port = _free_port()
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [ACCORD, "serve", "--port", str(port)], env=cli_env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        ready = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert ready is not None and ready.status_code == 200, (tmp_path / "serve.log").read_text()
        if "DATABASE_URL" not in cli_env:
            assert (tmp_path / "data" / "pg" / "PG_VERSION").exists()
        # With no ACCORD_PUBLIC_URL, what is advertised is where it is served.
        served = f"http://localhost:{port}"
        meta = httpx.get(f"{base}/.well-known/oauth-authorization-server").json()
        assert meta["issuer"] == served, meta
        assert meta["token_endpoint"] == f"{served}/oauth/token", meta

        created = json.loads(
            _run(cli_env, "create-client", "--name", "ci", "--scopes", "users:read")
        )
        assert created["client_id"].startswith("acc_") and created["client_secret"]
        r = httpx.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(created["client_id"], created["client_secret"]),
        )
        assert r.status_code == 200, r.text
        tok = r.json()["access_token"]
        claims = json.loads(base64.urlsafe_b64decode(tok.split(".")[1] + "=="))
        assert claims["iss"] == served
        me = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {tok}"})
        assert me.status_code == 200 and me.json()["client_id"] == created["client_id"]
        # The server does not name its software to every client (and scanner).
        assert "server" not in me.headers and me.headers["date"]
        nope = httpx.get(f"{base}/api/v1/api-clients", headers={"Authorization": f"Bearer {tok}"})
        assert nope.status_code == 403 and nope.json()["code"] == "insufficient_scope"

        admin = json.loads(
            _run(
                cli_env,
                "create-admin",
                "--email",
                "root@example.com",
                "--password",
                "a long password",
            )
        )
        assert admin["email"] == "root@example.com"

        # Nothing in the recycle bin has expired on a fresh database.
        purged = json.loads(_run(cli_env, "purge", "--retention-days", "15"))
        assert purged == {"purged": {}, "total": 0}

        # Logs are JSON lines carrying the request id.
        lines = [
            json.loads(x)
            for x in (tmp_path / "serve.log").read_text().splitlines()
            if x.startswith("{")
        ]
        me_lines = [x for x in lines if x.get("path") == "/api/v1/me"]
        assert me_lines and me_lines[-1]["request_id"] == me.headers["x-request-id"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    assert proc.returncode == 0, (tmp_path / "serve.log").read_text()[-3000:]
    if "DATABASE_URL" not in cli_env:
        # The embedded server stops with the last process that used it.
        pid_file = tmp_path / "data" / "pg" / "postmaster.pid"
        deadline = time.monotonic() + 20
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not pid_file.exists()
