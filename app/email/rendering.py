"""Rendering templates: a few child processes run the sandbox (``app/email/sandbox.py``), and the
merge context is built here from the API representation of records.

Why processes: a template is user code. The sandbox stops it reaching anything outside its data,
but not from looping for hours or building a gigabyte string; neither can be interrupted from
inside the Python process that runs it, and a thread cannot be killed. A render process has a
memory limit, gets a time limit per request and is killed and replaced when it overruns; the
API's event loop only waits for a pipe (in a thread), so a slow template never blocks requests.
"""

import asyncio
import logging
import multiprocessing
import threading
import types
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from app.config import Settings, get_settings
from app.email import sandbox

logger = logging.getLogger("accord.email")

# name -> (environment kind, source): the subject is plain text on one line, the HTML body is
# autoescaped, the text body is not.
PART_KINDS = {"subject": "text", "html_body": "html", "text_body": "text"}


class RenderFailed(Exception):
    def __init__(self, part: str, message: str) -> None:
        super().__init__(message)
        self.part = part
        self.message = message


@dataclass
class Rendered:
    subject: str
    html_body: str | None
    text_body: str | None


class _Worker:
    def __init__(self, ctx, memory_bytes: int, start_timeout: float) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=sandbox.serve, args=(child, memory_bytes), daemon=True, name="accord-render"
        )
        self.process.start()
        child.close()
        if not self.conn.poll(start_timeout) or self.conn.recv() != sandbox.READY:
            self.kill()
            raise RuntimeError("the template render process did not start")

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.join(5)
        finally:
            self.conn.close()


class RenderPool:
    """Up to ``size`` render processes, started on first use and replaced when killed."""

    def __init__(self, size: int, timeout: float, memory_bytes: int) -> None:
        self.size, self.timeout, self.memory_bytes = size, timeout, memory_bytes
        self._ctx = multiprocessing.get_context("spawn")
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def _run(self, request: dict, timeout: float) -> list[dict]:
        with self._slots:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None:
                worker = _Worker(self._ctx, self.memory_bytes, start_timeout=60)
            try:
                worker.conn.send(request)
                if not worker.conn.poll(timeout):
                    raise TimeoutError
                reply = worker.conn.recv()
            except TimeoutError:
                worker.kill()
                msg = f"The template took longer than {self.timeout:g} seconds to render"
                return [{"error": {"part": "", "message": msg}}] * len(request["contexts"])
            except (EOFError, OSError):
                worker.kill()
                msg = "The template needs too much memory"
                return [{"error": {"part": "", "message": msg}}] * len(request["contexts"])
            with self._lock:
                self._idle.append(worker)
        if "failed" in reply:
            return [{"error": {"part": "", "message": reply["failed"]}}] * len(request["contexts"])
        return reply["results"]

    async def render(
        self, parts: dict[str, str | None], contexts: list[dict[str, Any]]
    ) -> list[Rendered | RenderFailed]:
        """Render ``parts`` (subject, html_body, text_body sources) for each context."""
        request = {
            "parts": {name: (PART_KINDS[name], src) for name, src in parts.items()},
            "contexts": contexts,
        }
        # A bigger batch gets more time; each render still has to be quick.
        timeout = self.timeout * (1 + len(contexts) // 100)
        results = await asyncio.to_thread(self._run, request, timeout)
        out: list[Rendered | RenderFailed] = []
        for result in results:
            if "error" in result:
                out.append(RenderFailed(result["error"]["part"], result["error"]["message"]))
                continue
            done = result["ok"]
            out.append(
                Rendered(
                    subject=" ".join(done.get("subject", "").split())[:998],
                    html_body=done.get("html_body"),
                    text_body=done.get("text_body"),
                )
            )
        return out

    def close(self) -> None:
        with self._lock:
            workers, self._idle = self._idle, []
        for w in workers:
            w.kill()


_pools: dict[tuple, RenderPool] = {}
_pools_lock = threading.Lock()


def pool(settings: Settings | None = None) -> RenderPool:
    """The process's render pool for these settings (default: the environment's)."""
    settings = settings or get_settings()
    key = (
        settings.email_render_processes,
        settings.email_render_timeout_seconds,
        settings.email_render_memory_mb,
    )
    with _pools_lock:
        found = _pools.get(key)
        if found is None:
            found = _pools[key] = RenderPool(
                settings.email_render_processes,
                settings.email_render_timeout_seconds,
                settings.email_render_memory_mb * 1024 * 1024,
            )
        return found


# --- the merge context -------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """Null values merge as empty strings (as blank merge fields do in Salesforce), so that
    ``{{ contact.first_name | upper }}`` or ``{% if lead.title %}`` need no null checks."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _sample(annotation: Any) -> Any:
    """A made-up value of a field's type, for checking a template before it is saved."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _sample(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _sample(args[0]) if args else ""
    if origin is Literal:
        return get_args(annotation)[0]
    if origin in (list, tuple, set):
        return []
    if origin is dict:
        return {}
    if isinstance(annotation, type):
        for kind, value in (
            (bool, True),
            (int, 1),
            (float, 1.0),
            (Decimal, "1.00"),
            (datetime, "2026-01-31T12:00:00+00:00"),
            (date, "2026-01-31"),
            (uuid.UUID, "00000000-0000-7000-8000-000000000000"),
            (dict, {}),
            (list, []),
        ):
            if issubclass(annotation, kind):
                return value
        if issubclass(annotation, Enum):
            return next(iter(annotation)).value
    return "text"


def fields_of(out: type[BaseModel]) -> dict[str, Any]:
    return {name: f.annotation for name, f in out.model_fields.items()}


def specimen(out: type[BaseModel], custom: list[str]) -> dict[str, Any]:
    values = {
        name: _sample(annotation)
        for name, annotation in fields_of(out).items()
        if name != "custom_fields"
    }
    values["custom_fields"] = {name: "text" for name in custom}
    return values


def blank(out: type[BaseModel], custom: list[str]) -> dict[str, Any]:
    values = {name: "" for name in fields_of(out) if name != "custom_fields"}
    values["custom_fields"] = {name: "" for name in custom}
    return values


def with_name(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """People get a ``name`` merge field (first and last name), as Salesforce's Name."""
    if kind in ("lead", "contact"):
        first, last = values.get("first_name") or "", values.get("last_name") or ""
        values["name"] = f"{first} {last}".strip()
    return values


__all__ = [
    "PART_KINDS",
    "RenderFailed",
    "RenderPool",
    "Rendered",
    "blank",
    "plain",
    "pool",
    "specimen",
    "with_name",
]
