"""Test harness: a real PostgreSQL (embedded by default, ``TEST_DATABASE_URL`` for another
server), a fresh database migrated with Alembic per run, and one transaction per test rolled
back at the end. Tests that need real commits (concurrency, CLI) use ``committed_app``."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.kit import clock, db
from app.kit.migrations import upgrade
from app.main import create_app
from app.picklists.cache import picklists
from tests.factories import SettingsForTests

ROOT = Path(__file__).resolve().parents[1]


def _server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    from app.kit import embedded

    return embedded.start(ROOT / ".accord" / "test", database="postgres")


def _with_database(url: str, name: str) -> str:
    u = make_url(url)
    return u.set(database=name).render_as_string(hide_password=False)


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    server = _server_url()
    name = f"accord_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_asyncpg_dsn(server))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = _with_database(server, name)
    await asyncio.to_thread(upgrade, url)
    yield url
    admin = await asyncpg.connect(_asyncpg_dsn(server))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return SettingsForTests(database_url=database_url)


@pytest.fixture(scope="session")
async def engine(settings: Settings):
    engine = db.create_engine(settings, settings.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def empty_engine(settings, database_url):
    """An engine on a database of its own with nothing in it (no migrations run), dropped after
    the test."""
    name = database_url.rsplit("/", 1)[-1].split("?")[0] + "_empty"
    server = make_url(database_url).set(drivername="postgresql")
    admin = await asyncpg.connect(server.render_as_string(hide_password=False))
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = db.create_engine(settings, server.set(database=name).render_as_string(False))
    try:
        yield engine
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.reset()
    yield
    clock.reset()


@pytest.fixture(autouse=True)
def _reset_picklists():
    # The picklist snapshot may hold a test's rolled-back changes: start each test afresh.
    picklists.invalidate()
    yield
    picklists.invalidate()


@pytest.fixture
async def session(engine) -> AsyncIterator[AsyncSession]:
    """One connection, one outer transaction rolled back after the test; the app's request
    transactions become savepoints inside it."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        try:
            async with db.savepoint_factory(conn)() as s:
                yield s
        finally:
            await trans.rollback()


async def _make_app(settings, engine, factory):
    app = create_app(settings, engine=engine, session_factory=factory)
    await app.state.keyring.load(engine)
    return app


def _client(app) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://localhost:8000")


@pytest.fixture
async def app(settings, engine, session):
    per_request = db.savepoint_factory(session.bind)

    @asynccontextmanager
    async def shared():
        # Each request gets its own session on the test's connection, inside a savepoint: its
        # commit or rollback touches only its own work, and the test's objects stay usable.
        await session.flush()
        async with per_request() as s:
            yield s

    return await _make_app(settings, engine, shared)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as c:
        yield c


@pytest.fixture
async def committed_app(settings, engine):
    """An app whose requests really commit, on separate connections (for concurrency tests)."""
    # As in production: sessions built only when needed, and GETs in autocommit.
    app = await _make_app(settings, engine, db.write_factory(engine))
    app.state.read_session_factory = db.read_factory(engine)
    async with _client(app) as c:
        yield app, c
    # What these tests commit stays for the rest of the run. Leave nothing that acts later: no
    # queued jobs (another test's drain would run them: emails, timers) and no enabled partners
    # (rules that pick "every gold partner" would find them).
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM jobs"))
        await conn.execute(text("UPDATE accounts SET is_partner = false WHERE is_partner"))
