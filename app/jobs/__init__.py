"""The durable job queue (PostgreSQL): enqueue in the caller's transaction, run by workers.

Public interface (other packages code against this):

- ``@task(name, max_attempts=10, base_delay=2.0, max_delay=3600.0)`` registers
  ``async def handler(payload: dict) -> None``. Handlers open their own session with
  ``async with jobs.session() as s:`` (committed when the block exits cleanly, rolled back on
  error); ``jobs.current()`` tells the job's id and attempt, ``jobs.settings()`` the worker's
  settings. Handlers must be idempotent: a job whose worker dies mid-run runs again.
- ``await enqueue(session, name, payload, run_at=None, dedupe_key=None)`` adds a job in the
  caller's transaction: rolled back with it, committed with it.
- ``await drain(engine_or_factory)`` (tests): runs due jobs in-process until none is due.
- ``periodic(name, every=...)`` runs a registered task on a fixed interval.

Task modules are the ``tasks.py`` of each package under ``app/`` (imported by the worker).
"""

from app.jobs.queue import (
    JobInfo,
    Task,
    current,
    drain,
    enqueue,
    periodic,
    session,
    settings,
    task,
)

__all__ = [
    "JobInfo",
    "Task",
    "current",
    "drain",
    "enqueue",
    "periodic",
    "session",
    "settings",
    "task",
]
