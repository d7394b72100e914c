"""The ``accord`` command line."""

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.config import get_settings

cli = typer.Typer(help="Accord CRM/PRM service", no_args_is_help=True, add_completion=False)


def _database_url() -> str:
    """The configured database, or the embedded server (started if needed)."""
    from app.main import database_url

    return database_url(get_settings())


def _migrate(url: str) -> None:
    from app.kit.migrations import upgrade

    upgrade(url)


def served_url(host: str, port: int) -> str:
    """The URL a client on this machine reaches ``accord serve --host --port`` at."""
    if host in ("127.0.0.1", "0.0.0.0", "localhost", "::", "::1", ""):  # noqa: S104
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="API worker processes")] = 1,
    migrate: Annotated[bool, typer.Option(help="Migrate the database first")] = True,
    worker: Annotated[
        bool, typer.Option(help="Also run a job worker in each API process (--no-worker: not)")
    ] = True,
) -> None:
    """Serve the API (starting and migrating the embedded PostgreSQL if no DATABASE_URL).

    Each API process also runs a job worker unless --no-worker is given (then run
    `accord worker` processes)."""
    import uvicorn

    from app.kit import logging as accord_logging
    from app.kit import serving

    settings = get_settings()
    accord_logging.configure(settings.log_level, settings.log_json)
    url = _database_url()
    if migrate:
        _migrate(url)
    # Worker processes read the same settings; hand them the resolved database.
    os.environ["DATABASE_URL"] = url
    if "public_url" not in settings.model_fields_set:
        # Advertise where this server listens (OAuth metadata, tokens' iss, links in emails).
        os.environ["ACCORD_PUBLIC_URL"] = served_url(host, port)
    os.environ["ACCORD_WORKER_IN_PROCESS"] = "true" if worker else "false"
    get_settings.cache_clear()
    if workers > 1:
        metrics_dir = Path(settings.data_dir).resolve() / "metrics"
        metrics_dir.mkdir(parents=True, exist_ok=True)
        for f in metrics_dir.glob("*.db"):
            f.unlink()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    # uvicorn re-raises SIGTERM after a graceful shutdown; exiting normally instead lets the
    # embedded PostgreSQL be stopped by its exit handler.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        "app.main:factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        # No "server: uvicorn" on every response: it tells a scanner what runs here, and tells
        # a client nothing.
        server_header=False,
        http=serving.http_protocol(),
    )


@cli.command("worker")
def worker_command(
    concurrency: Annotated[
        int | None, typer.Option(help="Jobs run at a time (default: ACCORD_JOBS_CONCURRENCY)")
    ] = None,
    tasks_module: Annotated[
        list[str] | None,
        typer.Option("--tasks-module", help="Also import this module of tasks (repeat)"),
    ] = None,
    migrate: Annotated[bool, typer.Option(help="Migrate the database first")] = True,
) -> None:
    """Run background jobs (the queue, periodic jobs, event fan-out) until SIGTERM or Ctrl-C.
    Start as many as you like, on any machines that reach the database."""
    import importlib

    from app.jobs.queue import Worker
    from app.kit import db, heap
    from app.kit import logging as accord_logging

    settings = get_settings()
    accord_logging.configure(settings.log_level, settings.log_json)
    url = _database_url()
    if migrate:
        _migrate(url)
    for name in tasks_module or []:
        importlib.import_module(name)

    async def run() -> None:
        engine = db.create_engine(settings, url)
        w = Worker(
            db.session_factory_for(db.make_sessionmaker(engine)),
            settings,
            engine=engine,
            concurrency=concurrency,
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, w.stop)
        heap.settle()
        try:
            await w.run()
        finally:
            await engine.dispose()

    asyncio.run(run())


@cli.command()
def migrate() -> None:
    """Bring the database schema to the latest migration."""
    url = _database_url()
    _migrate(url)
    typer.echo("database is at the latest migration")


async def _with_session(fn):
    from app.kit import db

    settings = get_settings()
    engine = db.create_engine(settings, _database_url())
    try:
        async with db.make_sessionmaker(engine)() as session:
            result = await fn(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


@cli.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="Sign-in email")],
    password: Annotated[str, typer.Option(help="Password (at least 10 characters)")],
    name: Annotated[str, typer.Option(help="Display name")] = "Administrator",
) -> None:
    """Create an administrator user."""
    from pydantic import ValidationError

    from app.admin import schemas, service
    from app.kit.errors import AppError

    _migrate(_database_url())
    try:
        data = schemas.UserCreate(email=email, password=password, name=name, is_admin=True)
        user = asyncio.run(_with_session(lambda s: service.create_user(s, data)))
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except AppError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps({"id": str(user.id), "email": user.email}))


@cli.command("create-client")
def create_client(
    name: Annotated[str, typer.Option(help="Client name")],
    scopes: Annotated[str, typer.Option(help='Space-separated scopes, e.g. "leads:read admin"')],
    grant_types: Annotated[
        str, typer.Option(help="Space-separated grant types")
    ] = "client_credentials",
    redirect_uri: Annotated[list[str] | None, typer.Option(help="Redirect URI (repeat)")] = None,
    user_email: Annotated[str | None, typer.Option("--user", help="Act as this user")] = None,
    public: Annotated[bool, typer.Option(help="Public client (PKCE, no secret)")] = False,
) -> None:
    """Register an API client and print its client_id and client_secret as JSON."""
    from pydantic import ValidationError
    from sqlalchemy import func, select

    from app.admin import schemas, service
    from app.kit.errors import AppError
    from app.models import User

    _migrate(_database_url())

    async def run(session):
        user_id = None
        if user_email:
            user_id = await session.scalar(
                select(User.id).where(func.lower(User.email) == user_email.lower())
            )
            if user_id is None:
                raise typer.BadParameter(f"no user with email {user_email}")
        data = schemas.ApiClientCreate(
            name=name,
            scopes=scopes.split(),
            grant_types=grant_types.split(),
            redirect_uris=redirect_uri or [],
            user_id=user_id,
            public=public,
        )
        return await service.create_client(session, data)

    try:
        client, secret = asyncio.run(_with_session(run))
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except AppError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        json.dumps(
            {
                "client_id": client.client_id,
                "client_secret": secret,
                "scopes": client.allowed_scopes,
                "grant_types": client.grant_types,
            }
        )
    )


@cli.command("rotate-keys")
def rotate_keys() -> None:
    """Make a new token signing key; old keys verify until their tokens expire."""
    from app.auth import keys

    _migrate(_database_url())
    row = asyncio.run(_with_session(lambda s: keys.rotate(s, get_settings())))
    typer.echo(json.dumps({"kid": row.kid}))


@cli.command()
def purge(
    retention_days: Annotated[
        int | None, typer.Option(help="Purge what was deleted longer ago than this many days")
    ] = None,
) -> None:
    """Permanently delete what has been in the recycle bin past the retention period."""
    from datetime import timedelta

    from app.kit import db
    from app.recyclebin.service import purge_expired

    settings = get_settings()
    days = settings.recycle_bin_retention_days if retention_days is None else retention_days
    url = _database_url()
    _migrate(url)

    async def run():
        engine = db.create_engine(settings, url)
        try:
            return await purge_expired(engine, retention=timedelta(days=days))
        finally:
            await engine.dispose()

    counts = asyncio.run(run())
    typer.echo(json.dumps({"purged": counts, "total": sum(counts.values())}))


@cli.command()
def openapi(
    output: Annotated[Path, typer.Option(help="Where to write")] = Path("openapi/openapi.json"),
) -> None:
    """Write the OpenAPI document the service serves."""
    from app.main import create_app

    spec = create_app(get_settings()).openapi()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(dump_openapi(spec))
    typer.echo(f"wrote {output}")


def dump_openapi(spec: dict) -> str:
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    cli()
