"""The log lines an operator reads: one JSON object per line (or the plain form), with the
request id, the access line of every request, extra fields and tracebacks."""

import io
import json
import logging
import re
import sys
import uuid
from decimal import Decimal

import pytest

from app.kit import logging as accord_logging
from app.kit.context import request_id_var


@pytest.fixture
def captured():
    """``configure``, with its handler writing to a buffer rather than to standard error; the
    logging setup as it was afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()

    def configure(level: str, json_output: bool) -> None:
        accord_logging.configure(level, json_output)
        (handler,) = root.handlers
        assert handler.stream is sys.stderr
        handler.setStream(stream)

    def lines() -> list[str]:
        return stream.getvalue().splitlines()

    try:
        yield configure, lines
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def _access_lines(lines: list[str], path: str) -> list[dict]:
    docs = [json.loads(line) for line in lines]
    return [d for d in docs if d["logger"] == "accord.access" and d["path"] == path]


async def test_every_request_writes_one_json_access_line(captured, client):
    configure, lines = captured
    configure("INFO", json_output=True)
    r = await client.get("/healthz", headers={"X-Request-ID": "rid-log-1"})
    missing = await client.get("/api/v1/nothing-here")
    assert r.status_code == 200 and missing.status_code == 404

    (ok,) = _access_lines(lines(), "/healthz")
    assert ok["level"] == "INFO"
    assert ok["message"] == "GET /healthz 200"
    assert ok["request_id"] == "rid-log-1"
    assert (ok["method"], ok["status"]) == ("GET", 200)
    assert isinstance(ok["duration_ms"], float) and ok["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", ok["time"])
    (nf,) = _access_lines(lines(), "/api/v1/nothing-here")
    assert nf["status"] == 404 and nf["request_id"] == missing.headers["x-request-id"]


async def test_access_lines_follow_the_level(captured, client):
    configure, lines = captured
    configure("WARNING", json_output=True)
    await client.get("/healthz")
    assert _access_lines(lines(), "/healthz") == []


def test_json_lines_carry_extra_fields_and_tracebacks(captured):
    configure, lines = captured
    configure("INFO", json_output=True)
    job_id = uuid.uuid4()
    token = request_id_var.set("rid-job")
    try:
        logging.getLogger("accord.jobs").info(
            "job %s done", "sync", extra={"job_id": job_id, "amount": Decimal("1.50"), "n": 2**70}
        )
        try:
            raise ZeroDivisionError("boom")
        except ZeroDivisionError:
            logging.getLogger("accord.errors").exception("unhandled error")
    finally:
        request_id_var.reset(token)
    logging.getLogger("accord.jobs").warning("outside a request")
    # uvicorn's console colours stay out of JSON.
    colour = "Finished server process [\x1b[36m%d\x1b[0m]"
    logging.getLogger("uvicorn.error").info(
        "Finished server process [%d]", 7, extra={"color_message": colour}
    )

    job, error, outside, uvicorn = (json.loads(line) for line in lines())
    assert job["message"] == "job sync done" and job["level"] == "INFO"
    assert job["logger"] == "accord.jobs" and job["request_id"] == "rid-job"
    # Values JSON has no form for are written as text; a number beyond 64 bits still logs.
    assert job["job_id"] == str(job_id) and job["amount"] == "1.50" and job["n"] == 2**70
    assert not {"args", "msg", "exc_info", "pathname", "lineno"} & set(job)
    assert error["level"] == "ERROR" and error["message"] == "unhandled error"
    assert error["exc_info"].startswith("Traceback (most recent call last):")
    assert error["exc_info"].endswith("ZeroDivisionError: boom")
    assert outside["request_id"] is None and outside["level"] == "WARNING"
    assert uvicorn["message"] == "Finished server process [7]" and "color_message" not in uvicorn


def test_times_are_what_logging_writes(captured):
    """The once-a-second cache writes what ``logging.Formatter`` would for the same record."""
    configure, _ = captured
    configure("INFO", json_output=False)
    formatter = logging.getLogger().handlers[0].formatter
    reference = logging.Formatter()
    for created in (1_700_000_000.0, 1_700_000_000.9996, 1_700_000_001.0004, 1_700_003_601.5):
        record = logging.makeLogRecord({"msg": "m"})
        record.created, record.msecs = created, int((created - int(created)) * 1000) + 0.0
        assert formatter.formatTime(record) == reference.formatTime(record), created


async def test_plain_lines(captured, client):
    configure, lines = captured
    configure("INFO", json_output=False)
    await client.get("/healthz", headers={"X-Request-ID": "rid-plain"})
    access = [line for line in lines() if " accord.access " in line]
    assert len(access) == 1
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO accord\.access \[rid-plain\] GET /healthz 200",
        access[0],
    )
