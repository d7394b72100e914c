"""Tasks the job-queue tests run, in this process and in `accord worker --tasks-module` child
processes. Their effects go to two scratch tables the tests create (see conftest.py)."""

import asyncio

from sqlalchemy import text

from app import jobs

CALLS: list[dict] = []  # in-process runs, for tests that only need to count
FAIL_TIMES: dict[str, int] = {}  # key -> how many runs should still fail


@jobs.task("test.record", max_attempts=3)
async def record(payload: dict) -> None:
    CALLS.append(payload)


@jobs.task("test.flaky", max_attempts=4, base_delay=10.0, max_delay=25.0)
async def flaky(payload: dict) -> None:
    CALLS.append(payload)
    left = FAIL_TIMES.get(payload["key"], 0)
    if left:
        FAIL_TIMES[payload["key"]] = left - 1
        raise RuntimeError("flaky failure")


@jobs.task("test.effect_once", max_attempts=5, base_delay=0.1)
async def effect_once(payload: dict) -> None:
    """An idempotent handler: every run is logged, the effect is keyed so it lands once. The first
    run then hangs (the test kills its worker there); later runs finish."""
    info = jobs.current()
    assert info is not None
    async with jobs.session() as s:
        await s.execute(
            text("INSERT INTO job_test_runs (key, attempt) VALUES (:k, :a)"),
            {"k": payload["key"], "a": info.attempt},
        )
    async with jobs.session() as s:
        await s.execute(
            text("INSERT INTO job_test_effects (key) VALUES (:k) ON CONFLICT DO NOTHING"),
            {"k": payload["key"]},
        )
    if info.attempt == 1:
        await asyncio.sleep(3600)


@jobs.task("test.stamp", max_attempts=2)
async def stamp(payload: dict) -> None:
    """Logs when it ran (database clock), for timer lateness."""
    async with jobs.session() as s:
        await s.execute(
            text(
                "INSERT INTO job_test_runs (key, attempt, ran_at) VALUES (:k, 1, clock_timestamp())"
            ),
            {"k": payload["key"]},
        )


@jobs.task("test.tick", max_attempts=2)
async def tick(payload: dict) -> None:
    CALLS.append({"tick": payload.get("scheduled_for")})
