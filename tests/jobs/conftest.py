import pytest
from sqlalchemy import text

from tests.jobs import tasks


@pytest.fixture
async def scratch_tables(engine):
    """Two committed scratch tables for job effects; dropped after the test (the migrations
    check compares the database with the models)."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS job_test_runs (id serial PRIMARY KEY, key text, "
                "attempt int, ran_at timestamptz DEFAULT clock_timestamp())"
            )
        )
        await conn.execute(
            text("CREATE TABLE IF NOT EXISTS job_test_effects (key text PRIMARY KEY)")
        )
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS job_test_runs, job_test_effects"))


@pytest.fixture(autouse=True)
def _reset_calls():
    tasks.CALLS.clear()
    tasks.FAIL_TIMES.clear()
    yield
    tasks.CALLS.clear()


@pytest.fixture
async def clean_jobs(engine):
    """Committed tests: no leftover test jobs before or after."""
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM jobs WHERE name LIKE 'test.%'"))
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM jobs WHERE name LIKE 'test.%'"))
