"""Structured JSON logs, each line carrying the request id of the request that wrote it.

Every request writes an access line, so a line's cost is part of every request's
(docs/PERFORMANCE.md, "Logging"). :class:`JsonLines` writes the fields with orjson, and both
formatters format a second's timestamp once.
"""

import json
import logging
import sys
import time
from typing import Any

import orjson

from app.kit.context import request_id_var

# What every LogRecord has; any other attribute came from ``extra`` and is written as a field.
# (uvicorn's ``color_message`` repeats its message with terminal colours, for its console.)
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "color_message",
}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class _SecondCache:
    """``logging.Formatter``'s local time, ``2026-11-24 22:27:35,782``, with the part before the
    milliseconds formatted once a second rather than once a line."""

    __slots__ = ("_cached",)

    def __init__(self) -> None:
        self._cached = (-1, "")  # one tuple, replaced whole: no thread sees half an update

    def __call__(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        cached_second, prefix = self._cached
        if second != cached_second:
            prefix = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._cached = (second, prefix)
        return f"{prefix},{int(record.msecs):03d}"


class PlainLines(logging.Formatter):
    """``time level logger [request id] message``, and the traceback below it."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        self._time = _SecondCache()

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return self._time(record)


class JsonLines(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``message``, ``request_id``,
    then each ``extra`` field, then ``exc_info`` and ``stack_info`` as text when present. A
    value JSON has no form for is written as its ``str``."""

    def __init__(self) -> None:
        super().__init__()
        self._time = _SecondCache()

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                doc[key] = value
        if record.exc_info and not record.exc_text:  # formatted once, as logging.Formatter does
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["exc_info"] = record.exc_text
        if record.stack_info:
            doc["stack_info"] = self.formatStack(record.stack_info)
        try:
            return orjson.dumps(doc, default=str).decode()
        except (TypeError, orjson.JSONEncodeError):  # an int beyond 64 bits, say
            return json.dumps(doc, default=str, ensure_ascii=False)


def configure(level: str = "INFO", json_output: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonLines() if json_output else PlainLines())
    # Neither form writes the thread or the process, which a LogRecord otherwise looks up for
    # every line (os.getpid() is a system call each time): the logging HOWTO's "Optimization".
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging.logAsyncioTasks = False  # Python 3.12 and later: the current task's name
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Our middleware writes the access log, with the request id; uvicorn's would duplicate it.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
