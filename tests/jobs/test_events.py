"""The event dispatcher: fan-out after commit, in order, nothing skipped when transactions
commit out of order, and not held back by transactions in other databases."""

import uuid

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from app import events, jobs
from app.kit import db

SEEN: list[tuple[str, str]] = []


@pytest.fixture
def recorder():
    async def record(session, event):
        SEEN.append((event.type, event.data.get("n")))

    SEEN.clear()
    events.SUBSCRIBERS.append(("test.*", record))
    yield SEEN
    events.SUBSCRIBERS.remove(("test.*", record))


def _factory(engine):
    return db.session_factory_for(db.make_sessionmaker(engine))


async def _emit(session, n: str) -> None:
    await events.emit(session, "test.happened", "leads", uuid.uuid4(), {"n": n})


async def test_events_fan_out_after_commit_and_never_when_rolled_back(engine, settings, recorder):
    await jobs.drain(engine, settings=settings)
    async with _factory(engine)() as s:
        await _emit(s, "rolled back")
        await s.rollback()
    async with _factory(engine)() as s:
        await _emit(s, "committed")
        await s.commit()
    await jobs.drain(engine, settings=settings)
    assert recorder == [("test.happened", "committed")]
    await jobs.drain(engine, settings=settings)
    assert len(recorder) == 1  # once


async def test_a_transaction_that_commits_late_is_not_skipped(engine, settings, recorder):
    await jobs.drain(engine, settings=settings)
    early = _factory(engine)()
    s1 = await early.__aenter__()
    try:
        await _emit(s1, "early")  # older transaction id, still open
        async with _factory(engine)() as s2:
            await _emit(s2, "late")
            await s2.commit()
        # "late" is committed but an older transaction is open: it waits.
        await jobs.drain(engine, settings=settings, settle_seconds=0.3)
        assert recorder == []
        await s1.commit()
    finally:
        await early.__aexit__(None, None, None)
    await jobs.drain(engine, settings=settings)
    assert [n for _, n in recorder] == ["early", "late"]


async def test_an_open_transaction_in_another_database_does_not_hold_fan_out_back(
    engine, settings, database_url, recorder
):
    await jobs.drain(engine, settings=settings)
    other_db = make_url(database_url).set(database="postgres")
    dsn = other_db.render_as_string(hide_password=False).replace("+asyncpg", "")
    other = await asyncpg.connect(dsn)
    try:
        tr = other.transaction()
        await tr.start()
        await other.fetchval("SELECT pg_current_xact_id()")  # holds an old transaction id
        async with _factory(engine)() as s:
            await _emit(s, "meanwhile")
            await s.commit()
        await jobs.drain(engine, settings=settings, settle_seconds=5)
        assert recorder == [("test.happened", "meanwhile")]
        await tr.rollback()
    finally:
        await other.close()
