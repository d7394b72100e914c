"""A serving process freezes what startup built out of the garbage collector's way; apps built
for tests (many per process) must not, since frozen objects are never freed."""

import gc

import httpx
import pytest

from app import main
from app.config import get_settings
from app.kit import heap
from app.kit import logging as accord_logging


@pytest.fixture
def restore_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


async def test_served_app_freezes_startup_objects(database_url, monkeypatch, restore_gc):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ACCORD_WORKER_IN_PROCESS", "false")
    # The factory sets up the process's logging; this process is the test run's.
    monkeypatch.setattr(accord_logging, "configure", lambda *a, **k: None)
    get_settings.cache_clear()
    try:
        app = main.factory()
    finally:
        get_settings.cache_clear()
    assert gc.get_freeze_count() == 0
    async with app.router.lifespan_context(app):
        frozen = gc.get_freeze_count()
        # The routes, schemas and models: far more than a stray handful.
        assert frozen > 50_000
        assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/readyz")
        assert r.status_code == 200, r.text


async def test_apps_built_for_tests_do_not_freeze(settings, engine, restore_gc):
    app = main.create_app(settings, engine=engine)
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold()[0] != heap.YOUNG_THRESHOLD
