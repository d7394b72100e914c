"""The job queue: a ``jobs`` table written through the caller's session, run by workers that
claim due rows with ``FOR UPDATE SKIP LOCKED``.

Why not a library: see docs/ARCHITECTURE.md ("Job queue"). In short, enqueueing must be one
INSERT on the request's own SQLAlchemy/asyncpg transaction, and the test helper ``drain`` must run
jobs on the test's own connection; procrastinate (psycopg only) and pgqueuer (its own driver
object and in-process retries) can do neither without an outbox and relay in front of them.
"""

import asyncio
import contextlib
import importlib
import logging
import os
import pkgutil
import random
import socket
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import Settings, get_settings
from app.kit import clock, db
from app.models.jobs import Job, JobSchedule

logger = logging.getLogger("accord.jobs")

CHANNEL = "accord_jobs"  # NOTIFY'd by a trigger on every INSERT into jobs

Handler = Callable[[dict], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Task:
    name: str
    handler: Handler
    max_attempts: int
    base_delay: float
    max_delay: float

    def retry_delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based): exponential, capped, with
        up to 10% jitter downwards so that retries of many jobs spread out."""
        delay = min(self.max_delay, self.base_delay * 2 ** max(attempt - 1, 0))
        return delay * random.uniform(0.9, 1.0)  # noqa: S311 (not cryptographic)


@dataclass(frozen=True, slots=True)
class Periodic:
    name: str
    every: float | Callable[[Settings], float]
    first_after: float

    def interval(self, settings: Settings) -> float:
        return float(self.every(settings) if callable(self.every) else self.every)


@dataclass(frozen=True, slots=True)
class JobInfo:
    id: int
    name: str
    attempt: int
    max_attempts: int


TASKS: dict[str, Task] = {}
PERIODIC: dict[str, Periodic] = {}
# Called by every worker on a short poll (the event dispatcher): ``async def poll(session) -> int``
# inside a transaction, returning how much it did (more than 0: called again at once).
POLLERS: dict[str, Callable[[AsyncSession], Awaitable[int]]] = {}

_factory: ContextVar[db.SessionFactory | None] = ContextVar("accord_job_factory", default=None)
_job: ContextVar[JobInfo | None] = ContextVar("accord_job", default=None)
_settings: ContextVar[Settings | None] = ContextVar("accord_job_settings", default=None)


def task(
    name: str, *, max_attempts: int = 10, base_delay: float = 2.0, max_delay: float = 3600.0
) -> Callable[[Handler], Handler]:
    """Register ``async def handler(payload: dict) -> None`` as the task ``name``.

    A failed run is retried after ``base_delay * 2**(attempt-1)`` seconds (capped at
    ``max_delay``) until ``max_attempts`` runs have been made; then the job stays ``failed``.
    Handlers open their own session with ``async with jobs.session() as s`` and must be
    idempotent: a run cut short (worker killed, lease lost) is run again.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")

    def register(fn: Handler) -> Handler:
        existing = TASKS.get(name)
        if existing is not None and existing.handler is not fn:
            # Re-importing a module (tests) re-registers the same name: the latest wins.
            logger.debug("task %s registered again", name)
        TASKS[name] = Task(name, fn, max_attempts, base_delay, max_delay)
        return fn

    return register


def periodic(
    name: str, *, every: float | Callable[[Settings], float], first_after: float | None = None
) -> None:
    """Run the registered task ``name`` every ``every`` seconds (a number, or a function of the
    settings; 0 or less disables it), first ``first_after`` seconds after the schedule is first
    seen (default: one interval). One run per period across all workers; a run that fails is
    retried like any job."""
    PERIODIC[name] = Periodic(name, every, -1.0 if first_after is None else first_after)


def poller(name: str) -> Callable[[Callable[[AsyncSession], Awaitable[int]]], Any]:
    """Register a function every worker calls on its short poll (see ``POLLERS``)."""

    def register(fn):
        POLLERS[name] = fn
        return fn

    return register


def settings() -> Settings:
    """The running worker's settings (the process settings outside a job)."""
    return _settings.get() or get_settings()


def current() -> JobInfo | None:
    """The job being run by this task, if any (id and attempt number, for idempotency keys)."""
    return _job.get()


@asynccontextmanager
async def session() -> AsyncIterator[AsyncSession]:
    """A session for a job handler, from the worker's engine (or the test's connection under
    ``drain``): committed when the block exits cleanly, rolled back if it raises."""
    factory = _factory.get()
    if factory is None:
        raise RuntimeError("jobs.session() is only available while a job runs")
    async with factory() as s:
        try:
            yield s
        except BaseException:
            await s.rollback()
            raise
        else:
            await s.commit()


def load_tasks() -> None:
    """Import every ``app.<package>.tasks`` module, so the worker knows every task."""
    import app

    # The resources (event names, scopes) and the event dispatcher.
    importlib.import_module("app.main")
    importlib.import_module("app.events")
    for info in pkgutil.iter_modules(app.__path__):
        if info.ispkg:
            name = f"app.{info.name}.tasks"
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise


_ENQUEUE = (
    pg_insert(Job.__table__)
    .values(
        name=bindparam("name"),
        payload=bindparam("payload", type_=JSONB),
        run_at=bindparam("run_at"),
        max_attempts=bindparam("max_attempts"),
        dedupe_key=bindparam("dedupe_key"),
    )
    .on_conflict_do_update(
        index_elements=[Job.dedupe_key],
        index_where=text("status = 'queued' AND dedupe_key IS NOT NULL"),
        set_={"run_at": func.least(Job.run_at, pg_insert(Job.__table__).excluded.run_at)},
    )
)


async def enqueue(
    session: AsyncSession,
    name: str,
    payload: dict,
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Add a job in the caller's transaction (one INSERT): it exists only if that transaction
    commits, and then it is never lost. ``run_at`` schedules it (default: now). With a
    ``dedupe_key``, at most one job per key waits in the queue: enqueueing again while one is
    queued only moves its ``run_at`` earlier (a running one does not count, so work that arrives
    while it runs gets a fresh run)."""
    spec = TASKS.get(name)
    if spec is None:
        load_tasks()
        spec = TASKS.get(name)
        if spec is None:
            raise ValueError(f"unknown task {name!r}")
    await session.execute(
        _ENQUEUE,
        {
            "name": name,
            "payload": payload,
            "run_at": run_at or clock.now(),
            "max_attempts": spec.max_attempts,
            "dedupe_key": dedupe_key,
        },
    )


@dataclass(slots=True)
class _Claimed:
    id: int
    name: str
    payload: dict
    attempts: int
    max_attempts: int


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Claims due jobs, runs up to ``concurrency`` at a time, renews their leases, fires periodic
    schedules and runs the pollers. Sleeps until the next job is due, a NOTIFY arrives (a job was
    enqueued) or the poll interval passes, whichever is first."""

    def __init__(
        self,
        factory: db.SessionFactory,
        settings: Settings | None = None,
        *,
        engine: AsyncEngine | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings or get_settings()
        self.engine = engine
        self.concurrency = concurrency or self.settings.jobs_concurrency
        self.id = _worker_id()
        self.lease = timedelta(seconds=self.settings.jobs_lease_seconds)
        self._running: dict[int, asyncio.Task] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._poll_failures = 0
        self._next_poll = 0.0

    # --- one step: reap, schedule, claim -------------------------------------------------

    async def _step(self, limit: int, *, housekeeping: bool = True) -> list[_Claimed]:
        now = clock.now()
        async with self.factory() as s:
            if housekeeping:
                # Jobs whose worker stopped renewing the lease (killed, hung, cut off) go back
                # to the queue, or to ``failed`` if that was their last attempt.
                await s.execute(_REAP, {"now": now})
                await self._fire_schedules(s, now)
            rows = []
            if limit > 0:
                result = await s.execute(
                    _CLAIM,
                    {
                        "now": now,
                        "limit": limit,
                        "worker": self.id,
                        "until": now + self.lease,
                    },
                )
                rows = [_Claimed(*r) for r in result.all()]
            await s.commit()
        return rows

    async def _fire_schedules(self, s: AsyncSession, now: datetime) -> None:
        active = {
            name: p.interval(self.settings)
            for name, p in PERIODIC.items()
            if p.interval(self.settings) > 0
        }
        if not active:
            return
        due = (
            await s.execute(
                select(JobSchedule.name, JobSchedule.next_run_at)
                .where(JobSchedule.name.in_(active), JobSchedule.next_run_at <= now)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for name, _ in due:
            await s.execute(
                update(JobSchedule)
                .where(JobSchedule.name == name)
                .values(next_run_at=now + timedelta(seconds=active[name]))
            )
            await enqueue(
                s,
                name,
                {"scheduled_for": now.isoformat()},
                run_at=now,
                dedupe_key=f"periodic:{name}",
            )

    async def ensure_schedules(self) -> None:
        """Create the schedule rows of periodic tasks this worker knows (first run one interval,
        or ``first_after``, from now); existing rows keep their time."""
        rows = []
        now = clock.now()
        for name, p in PERIODIC.items():
            interval = p.interval(self.settings)
            if interval <= 0:
                continue
            first = p.first_after if p.first_after >= 0 else interval
            rows.append({"name": name, "next_run_at": now + timedelta(seconds=first)})
        if not rows:
            return
        async with self.factory() as s:
            await s.execute(
                pg_insert(JobSchedule).values(rows).on_conflict_do_nothing(index_elements=["name"])
            )
            await s.commit()

    async def _next_due(self) -> tuple[datetime | None, datetime | None]:
        """(when the next queued job is due, when the next lease expires or schedule fires)."""
        names = [n for n, p in PERIODIC.items() if p.interval(self.settings) > 0]
        async with self.factory() as s:
            row = (await s.execute(_NEXT_DUE, {"names": names})).one()
            await s.commit()
        return row[0], row[1]

    # --- running a job -------------------------------------------------------------------

    async def _run(self, job: _Claimed) -> bool:
        """Run one claimed job and record the outcome; True if it succeeded."""
        spec = TASKS.get(job.name)
        f_token = _factory.set(self.factory)
        s_token = _settings.set(self.settings)
        j_token = _job.set(JobInfo(job.id, job.name, job.attempts, job.max_attempts))
        try:
            if spec is None:
                raise LookupError(f"no task named {job.name!r} in this worker")
            await spec.handler(dict(job.payload or {}))
        except asyncio.CancelledError:
            # Shutting down: give the job back at once rather than wait for the lease.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._release(job))
            raise
        except Exception as exc:
            logger.warning(
                "job failed",
                extra={"job_id": job.id, "task": job.name, "attempt": job.attempts},
                exc_info=True,
            )
            await self._failed(job, spec, exc)
            return False
        finally:
            _factory.reset(f_token)
            _settings.reset(s_token)
            _job.reset(j_token)
        await self._done(job)
        return True

    def _owned(self, job: _Claimed):
        return (Job.id == job.id, Job.locked_by == self.id, Job.attempts == job.attempts)

    async def _done(self, job: _Claimed) -> None:
        async with self.factory() as s:
            await s.execute(delete(Job).where(*self._owned(job)))
            await s.commit()

    async def _failed(self, job: _Claimed, spec: Task | None, exc: Exception) -> None:
        error = "".join(traceback.format_exception_only(exc)).strip()[:4000]
        final = job.attempts >= job.max_attempts
        delay = spec.retry_delay(job.attempts) if spec else min(3600.0, 2.0**job.attempts)
        async with self.factory() as s:
            await s.execute(
                update(Job)
                .where(*self._owned(job))
                .values(
                    status="failed" if final else "queued",
                    run_at=clock.now() + timedelta(seconds=delay),
                    locked_by=None,
                    locked_until=None,
                    last_error=error,
                )
            )
            await s.commit()
        if final:
            logger.error("job gave up", extra={"job_id": job.id, "task": job.name})

    async def _release(self, job: _Claimed) -> None:
        async with self.factory() as s:
            await s.execute(
                update(Job)
                .where(*self._owned(job))
                .values(
                    status="queued",
                    attempts=Job.attempts - 1,
                    run_at=clock.now(),
                    locked_by=None,
                    locked_until=None,
                )
            )
            await s.commit()

    async def _renew(self) -> None:
        if not self._running:
            return
        async with self.factory() as s:
            await s.execute(
                update(Job)
                .where(
                    Job.id.in_(list(self._running)),
                    Job.locked_by == self.id,
                    Job.status == "running",
                )
                .values(locked_until=clock.now() + self.lease)
            )
            await s.commit()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await self._renew()
            except Exception:
                logger.exception("could not renew job leases")

    # --- pollers -------------------------------------------------------------------------

    async def poll(self) -> int:
        """Run every poller once (each in its own transaction); how much they did."""
        did = 0
        for name, fn in list(POLLERS.items()):
            try:
                async with self.factory() as s:
                    n = await fn(s)
                    await s.commit()
                did += n
                self._poll_failures = 0
            except Exception:
                self._poll_failures += 1
                logger.exception("poller failed", extra={"poller": name})
        return did

    # --- loops ---------------------------------------------------------------------------

    def wake(self, *_: Any) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _listen(self) -> None:
        """LISTEN on a connection of its own; reconnects after errors. Without it the worker
        still works, on the idle poll."""
        assert self.engine is not None
        while not self._stopping.is_set():
            try:
                async with self.engine.connect() as conn:
                    raw = (await conn.get_raw_connection()).driver_connection
                    await raw.add_listener(CHANNEL, self.wake)
                    try:
                        self._wake.set()  # catch up on anything enqueued while not listening
                        while not self._stopping.is_set() and not raw.is_closed():
                            await asyncio.sleep(self.settings.jobs_idle_seconds)
                            await raw.execute("SELECT 1")
                    finally:
                        with contextlib.suppress(Exception):
                            await raw.remove_listener(CHANNEL, self.wake)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("job queue listener lost; reconnecting", exc_info=True)
                await asyncio.sleep(1)

    async def run(self) -> None:
        """Run until ``stop()`` (or cancellation); on the way out, wait up to
        ``jobs_shutdown_grace_seconds`` for running jobs, then hand the rest back."""
        load_tasks()
        await self.ensure_schedules()
        helpers = [asyncio.create_task(self._heartbeat())]
        if self.engine is not None:
            helpers.append(asyncio.create_task(self._listen()))
        loop = asyncio.get_running_loop()
        poll_every = self.settings.jobs_poll_seconds
        idle = self.settings.jobs_idle_seconds
        housekeep_at: datetime | None = None
        logger.info("worker started", extra={"worker": self.id, "concurrency": self.concurrency})
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    if POLLERS and loop.time() >= self._next_poll:
                        did = await self.poll()
                        backoff = min(60.0, poll_every * 2 ** min(self._poll_failures, 10))
                        self._next_poll = loop.time() + (0 if did else backoff)
                    free = self.concurrency - len(self._running)
                    # Reaping leases and firing schedules only when one may be due keeps a
                    # busy worker's step to the claim itself.
                    chores = housekeep_at is None or clock.now() >= housekeep_at
                    claimed = await self._step(free, housekeeping=chores)
                    for job in claimed:
                        t = asyncio.create_task(self._run(job))
                        self._running[job.id] = t
                        t.add_done_callback(self._finished(job.id))
                    if len(claimed) == free:
                        due = None  # every slot is busy: a finishing job wakes the loop
                    else:
                        due, housekeep_at = await self._next_due()
                        if housekeep_at is None:
                            housekeep_at = clock.now() + idle
                except Exception:
                    logger.exception("worker step failed")
                    due = housekeep_at = None
                    await asyncio.sleep(1)
                timeout = idle
                if POLLERS:
                    timeout = min(timeout, max(0.0, self._next_poll - loop.time()))
                for at in (due, housekeep_at):
                    if at is not None:
                        timeout = min(timeout, max(0.0, (at - clock.now()).total_seconds()))
                if timeout > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout)
        finally:
            if self._running:
                _, pending = await asyncio.wait(
                    list(self._running.values()),
                    timeout=self.settings.jobs_shutdown_grace_seconds,
                )
                for t in pending:
                    t.cancel()
                if pending:
                    await asyncio.wait(pending, timeout=5)
            for h in helpers:
                h.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            logger.info("worker stopped", extra={"worker": self.id})

    def _finished(self, job_id: int) -> Callable[[asyncio.Task], None]:
        def done(t: asyncio.Task) -> None:
            self._running.pop(job_id, None)
            if not t.cancelled() and t.exception() is not None:
                logger.error("job runner crashed", exc_info=t.exception())
            self._wake.set()

        return done

    async def _backlog(self) -> bool:
        for fn in list(POLLERS.values()):
            check = getattr(fn, "backlog", None)
            if check is not None:
                async with self.factory() as s:
                    held = await check(s)
                    await s.commit()
                if held:
                    return True
        return False

    async def drain(self, *, until_idle: bool = True, settle_seconds: float = 30.0) -> int:
        """Run due jobs one at a time (and the pollers) until nothing is due; how many ran.
        Committed events a poller has not taken yet (the dispatcher holds back those of
        transactions newer than one still open) are waited for, up to ``settle_seconds``, so a
        test sees what it committed."""
        load_tasks()
        await self.ensure_schedules()
        ran = 0
        loop = asyncio.get_running_loop()
        give_up = loop.time() + settle_seconds
        while True:
            did = await self.poll()
            claimed = await self._step(1)
            for job in claimed:
                await self._run(job)
                ran += 1
            if not until_idle:
                return ran
            if not claimed and not did:
                if loop.time() < give_up and await self._backlog():
                    await asyncio.sleep(0.05)
                    continue
                return ran


_REAP = text(
    """
    UPDATE jobs SET
        status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
        run_at = :now, locked_by = NULL, locked_until = NULL,
        last_error = 'lease expired: the worker stopped while running this job'
    WHERE status = 'running' AND locked_until < :now
    """
)

_CLAIM = text(
    """
    UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = :worker,
        locked_until = :until
    WHERE id IN (
        SELECT id FROM jobs WHERE status = 'queued' AND run_at <= :now
        ORDER BY run_at, id LIMIT :limit FOR UPDATE SKIP LOCKED
    )
    RETURNING id, name, payload, attempts, max_attempts
    """
)

_NEXT_DUE = text(
    """
    SELECT (SELECT min(run_at) FROM jobs WHERE status = 'queued'),
           least((SELECT min(locked_until) FROM jobs WHERE status = 'running'),
                 (SELECT min(next_run_at) FROM job_schedules WHERE name = ANY(:names)))
    """
).bindparams(bindparam("names", type_=ARRAY(String)))


def _factory_of(target: AsyncEngine | db.SessionFactory) -> db.SessionFactory:
    if isinstance(target, AsyncEngine):
        return db.session_factory_for(db.make_sessionmaker(target))
    return target


async def drain(
    engine_or_factory: AsyncEngine | db.SessionFactory,
    *,
    until_idle: bool = True,
    settings: Settings | None = None,
    settle_seconds: float = 30.0,
) -> int:
    """Tests: run every due job in-process, one by one, until none is due (jobs they enqueue
    and the event dispatcher included); returns how many ran. Give it an engine (after real
    commits) or a session factory (``db.savepoint_factory(conn)``: inside the test's
    transaction). Jobs scheduled later are left alone: move the clock (``clock.advance``)."""
    worker = Worker(_factory_of(engine_or_factory), settings, concurrency=1)
    return await worker.drain(until_idle=until_idle, settle_seconds=settle_seconds)


async def run_worker(
    engine: AsyncEngine, settings: Settings | None = None, *, concurrency: int | None = None
) -> None:
    """The worker loop of ``accord worker`` and of ``accord serve`` (in-process)."""
    worker = Worker(_factory_of(engine), settings, engine=engine, concurrency=concurrency)
    await worker.run()
