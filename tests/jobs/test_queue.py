"""The job queue: transactional enqueue, retries with backoff, timers, periodic jobs, and a
worker killed in the middle of a job."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from app import jobs
from app.jobs import queue
from app.kit import clock, db
from tests.jobs import tasks

ROOT = Path(__file__).resolve().parents[2]
ACCORD = str(Path(sys.executable).with_name("accord"))


def _factory(engine):
    return db.session_factory_for(db.make_sessionmaker(engine))


async def _jobs(engine, name: str) -> list:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT id, status, attempts, run_at, last_error, dedupe_key FROM jobs "
                "WHERE name = :n ORDER BY id"
            ),
            {"n": name},
        )
        return list(rows.all())


async def test_job_enqueued_in_a_rolled_back_transaction_never_exists(engine, settings, clean_jobs):
    async with _factory(engine)() as s:
        await s.execute(text("SELECT 1"))
        await jobs.enqueue(s, "test.record", {"key": "rolled-back"})
        await s.rollback()
    assert await _jobs(engine, "test.record") == []
    await jobs.drain(engine, settings=settings)
    assert {"key": "rolled-back"} not in tasks.CALLS


async def test_job_enqueued_with_a_committed_change_runs_once(engine, settings, clean_jobs):
    async with _factory(engine)() as s:
        # The business change and the job commit together.
        await s.execute(text("INSERT INTO event_cursors (name) VALUES ('test-marker')"))
        await jobs.enqueue(s, "test.record", {"key": "committed"})
        await s.commit()
    try:
        assert len(await _jobs(engine, "test.record")) == 1
        assert await jobs.drain(engine, settings=settings) >= 1
        assert tasks.CALLS.count({"key": "committed"}) == 1
        assert await _jobs(engine, "test.record") == []  # done jobs are deleted
        await jobs.drain(engine, settings=settings)
        assert tasks.CALLS.count({"key": "committed"}) == 1
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM event_cursors WHERE name = 'test-marker'"))


async def test_drain_runs_jobs_inside_the_test_transaction(session, settings):
    await jobs.enqueue(session, "test.record", {"key": "in-transaction"})
    ran = await jobs.drain(db.savepoint_factory(session.bind), settings=settings)
    assert ran >= 1
    assert tasks.CALLS == [{"key": "in-transaction"}]


async def test_unknown_task_is_refused_at_enqueue(session):
    try:
        await jobs.enqueue(session, "test.no-such-task", {})
    except ValueError as exc:
        assert "no-such-task" in str(exc)
    else:
        raise AssertionError("expected ValueError")


async def test_failed_job_is_retried_with_exponential_backoff_up_to_the_cap(
    engine, settings, clean_jobs
):
    # test.flaky: base 10 s, cap 25 s, 4 attempts. Three failures, then success.
    tasks.FAIL_TIMES["b"] = 3
    async with _factory(engine)() as s:
        await jobs.enqueue(s, "test.flaky", {"key": "b"})
        await s.commit()
    delays = []
    for expected in (10, 20, 25):
        before = clock.now()
        await jobs.drain(engine, settings=settings)
        [job] = await _jobs(engine, "test.flaky")
        assert job.status == "queued" and "flaky failure" in job.last_error
        delay = (job.run_at - before).total_seconds()
        # 10% jitter downwards, never above the exponential value or the cap.
        assert expected * 0.9 - 0.5 <= delay <= expected + 0.5, (expected, delay)
        delays.append(round(delay, 1))
        await jobs.drain(engine, settings=settings)  # not due yet: nothing runs
        assert len(tasks.CALLS) == len(delays)
        clock.advance(seconds=delay + 0.1)
    await jobs.drain(engine, settings=settings)
    assert len(tasks.CALLS) == 4
    assert await _jobs(engine, "test.flaky") == []


async def test_job_that_always_fails_ends_failed_after_max_attempts(engine, settings, clean_jobs):
    tasks.FAIL_TIMES["f"] = 100
    async with _factory(engine)() as s:
        await jobs.enqueue(s, "test.flaky", {"key": "f"})
        await s.commit()
    for _ in range(4):
        await jobs.drain(engine, settings=settings)
        clock.advance(seconds=30)
    [job] = await _jobs(engine, "test.flaky")
    assert job.status == "failed" and job.attempts == 4
    await jobs.drain(engine, settings=settings)
    assert len(tasks.CALLS) == 4


async def test_dedupe_key_keeps_one_queued_job_and_brings_it_forward(engine, settings, clean_jobs):
    later, sooner = clock.now() + timedelta(hours=1), clock.now() + timedelta(minutes=1)
    async with _factory(engine)() as s:
        await jobs.enqueue(s, "test.record", {"key": "d1"}, run_at=later, dedupe_key="d")
        await jobs.enqueue(s, "test.record", {"key": "d2"}, run_at=sooner, dedupe_key="d")
        await jobs.enqueue(s, "test.record", {"key": "d3"}, run_at=later, dedupe_key="d")
        await s.commit()
    [job] = await _jobs(engine, "test.record")
    assert job.run_at == sooner
    clock.advance(minutes=2)
    await jobs.drain(engine, settings=settings)
    assert tasks.CALLS == [{"key": "d1"}]


async def test_scheduled_jobs_fire_at_their_time_in_a_running_worker(
    engine, settings, scratch_tables, clean_jobs
):
    # The pollers (the event dispatcher) would wake the worker every half second and let it
    # claim a due job on the way, timer or not: poll once at start, then not for a minute, so
    # only the timer can be on time (the idle wake-up is 5 s).
    quiet = settings.model_copy(update={"jobs_poll_seconds": 60.0})
    worker = queue.Worker(_factory(engine), quiet, engine=engine)
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.5)  # the worker is idle, sleeping on its LISTEN connection
        due = {}
        async with _factory(engine)() as s:
            for i, seconds in enumerate((0.7, 1.3, 2.0, 2.6)):
                due[f"t{i}"] = clock.now() + timedelta(seconds=seconds)
                await jobs.enqueue(s, "test.stamp", {"key": f"t{i}"}, run_at=due[f"t{i}"])
            await s.commit()
        deadline = time.monotonic() + 10
        rows = []
        while time.monotonic() < deadline and len(rows) < 4:
            await asyncio.sleep(0.1)
            async with engine.connect() as conn:
                rows = (await conn.execute(text("SELECT key, ran_at FROM job_test_runs"))).all()
    finally:
        worker.stop()
        await running
    assert len(rows) == 4
    lateness = {k: (ran_at - due[k]).total_seconds() for k, ran_at in rows}
    print("timer lateness (s):", {k: round(v, 3) for k, v in sorted(lateness.items())})
    # Never early; each one long before the 5 s idle wake-up; and the timer on time (a few ms
    # here) for at least three of the four. One may be late by a stall of this shared machine
    # (CI once saw one job 0.56 s late and the next three 5 ms late).
    assert all(-0.01 <= v < 1.5 for v in lateness.values()), lateness
    assert sum(v < 0.25 for v in lateness.values()) >= 3, lateness


async def test_periodic_job_runs_once_per_period_whatever_the_number_of_workers(
    engine, settings, clean_jobs
):
    jobs.periodic("test.tick", every=60, first_after=60)
    try:
        w1 = queue.Worker(_factory(engine), settings, concurrency=1)
        w2 = queue.Worker(_factory(engine), settings, concurrency=1)
        await w1.ensure_schedules()
        await w2.ensure_schedules()  # the second worker keeps the first one's time
        await w1.drain()
        assert tasks.CALLS == []
        for period in range(1, 4):
            clock.advance(seconds=60)
            await w1.drain()
            await w2.drain()
            await w1.drain()
            assert len(tasks.CALLS) == period
    finally:
        queue.PERIODIC.pop("test.tick", None)
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM job_schedules WHERE name = 'test.tick'"))


async def test_periodic_job_fires_on_time_in_running_workers(engine, settings, clean_jobs):
    jobs.periodic("test.tick", every=1.0, first_after=0.5)
    workers = [queue.Worker(_factory(engine), settings, engine=engine) for _ in range(2)]
    runs = [asyncio.create_task(w.run()) for w in workers]
    try:
        await asyncio.sleep(3.2)  # due at 0.5, 1.5, 2.5 s
    finally:
        for w in workers:
            w.stop()
        await asyncio.gather(*runs)
        queue.PERIODIC.pop("test.tick", None)
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM job_schedules WHERE name = 'test.tick'"))
    ticks = [c["tick"] for c in tasks.CALLS]
    assert len(ticks) == 3 and len(set(ticks)) == 3, ticks


def _worker(database_url: str, log) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env.update(
        DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
        ACCORD_JOBS_LEASE_SECONDS="1.5",
        ACCORD_LOG_LEVEL="WARNING",
        ACCORD_LOG_JSON="false",
    )
    return subprocess.Popen(
        [ACCORD, "worker", "--no-migrate", "--tasks-module", "tests.jobs.tasks"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def _wait_for(engine, sql: str, predicate, within: float):
    deadline = time.monotonic() + within
    while True:
        async with engine.connect() as conn:
            value = (await conn.execute(text(sql))).all()
        if predicate(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


async def test_worker_killed_mid_job_runs_it_again_and_the_effect_happens_once(
    engine, database_url, scratch_tables, clean_jobs, tmp_path
):
    async with _factory(engine)() as s:
        await jobs.enqueue(s, "test.effect_once", {"key": "k1"})
        await s.commit()
    log = open(tmp_path / "workers.log", "w")  # noqa: SIM115, ASYNC230
    first = _worker(database_url, log)
    try:
        runs = await _wait_for(engine, "SELECT attempt FROM job_test_runs", bool, 60)
        assert runs == [(1,)], (tmp_path / "workers.log").read_text()[-3000:]
        # The first run has made its effect and is now in the middle of the job.
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        [job] = await _jobs(engine, "test.effect_once")
        assert job.status == "running"  # the dead worker's claim, until its lease runs out

        second = _worker(database_url, log)
        try:
            left = await _wait_for(
                engine, "SELECT id FROM jobs WHERE name = 'test.effect_once'", lambda v: not v, 60
            )
            assert left == [], (tmp_path / "workers.log").read_text()[-3000:]
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0
    finally:
        if first.poll() is None:
            first.kill()
        log.close()
    async with engine.connect() as conn:
        attempts = (await conn.execute(text("SELECT attempt FROM job_test_runs ORDER BY id"))).all()
        effects = await conn.scalar(text("SELECT count(*) FROM job_test_effects"))
    assert [a for (a,) in attempts] == [1, 2]  # it ran again ...
    assert effects == 1  # ... and its effect happened once


async def test_the_api_process_runs_a_worker_unless_told_not_to(settings, engine, clean_jobs):
    from app.main import create_app

    for in_process in (True, False):
        tasks.CALLS.clear()
        app = create_app(
            settings.model_copy(update={"worker_in_process": in_process}), engine=engine
        )
        async with app.router.lifespan_context(app):
            async with _factory(engine)() as s:
                await jobs.enqueue(s, "test.record", {"key": f"serve-{in_process}"})
                await s.commit()
            for _ in range(30):
                if tasks.CALLS:
                    break
                await asyncio.sleep(0.1)
        expected = [{"key": "serve-True"}] if in_process else []
        assert list(tasks.CALLS) == expected
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM jobs WHERE name = 'test.record'"))
