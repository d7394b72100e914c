"""One pure-ASGI middleware for what every request needs: a request id (accepted from
``X-Request-ID`` or made), a size limit on bodies, an access log line, metrics, and a last-resort
problem+json 500 that still carries the request id."""

import logging
import random
import re
import time

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit import metrics
from app.kit.context import request_id_var
from app.kit.errors import PROBLEM_JSON, problem_body

access_log = logging.getLogger("accord.access")
error_log = logging.getLogger("accord.errors")
_VALID_RID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# The metric series of each (method, route, status): looking them up by label values took a
# lock and two hashes per metric per request. Bounded by routes x methods x statuses.
_series: dict[tuple[str, str, int], tuple] = {}


class _BodyTooLarge(HTTPException):
    """Raised while the body is read; FastAPI passes HTTPExceptions through to the handlers."""

    def __init__(self) -> None:
        super().__init__(413, "The request body is too large")


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, max_body_bytes: int, larger_bodies: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Paths that take larger bodies than the rest (inbound email with its attachments).
        self.larger_bodies = larger_bodies or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = None
        declared_length = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                rid = candidate if _VALID_RID.match(candidate) else None
            elif name == b"content-length":
                try:
                    declared_length = int(value)
                except ValueError:
                    declared_length = None
        # 128 random bits as 32 hex digits from the random module: an id must be unique, not
        # secret, so no system call per request. Seeded from os.urandom, again in each fork.
        rid = rid or f"{random.getrandbits(128):032x}"
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = 500
        started = False
        rid_header = (b"x-request-id", rid.encode())

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        received = 0
        limit = self.larger_bodies.get(scope["path"], self.max_body_bytes)

        async def receive_wrapper() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        try:
            if declared_length is not None and declared_length > limit:
                raise _BodyTooLarge
            await self.app(scope, receive_wrapper, send_wrapper)
        except _BodyTooLarge:
            if not started:
                await self._problem(
                    send_wrapper,
                    413,
                    "payload_too_large",
                    f"The request body is larger than {limit} bytes",
                    scope,
                )
        except Exception:
            error_log.exception("unhandled error")
            if not started:
                await self._problem(
                    send_wrapper,
                    500,
                    "internal_error",
                    "An unexpected error occurred; quote the request id when reporting it",
                    scope,
                )
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            route_path = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            counted = _series.get((method, route_path, status))
            if counted is None:
                counted = _series[method, route_path, status] = (
                    metrics.REQUESTS.labels(method, route_path, str(status)),
                    metrics.LATENCY.labels(method, route_path),
                )
            counted[0].inc()
            counted[1].observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                # What access_log.info would log, made without its search of the call stack
                # for the caller's file and line, which an access line never shows.
                path = scope["path"]
                access_log.handle(
                    access_log.makeRecord(
                        access_log.name,
                        logging.INFO,
                        __file__,
                        0,
                        "%s %s %s",
                        (method, path, status),
                        None,
                        extra={
                            "method": method,
                            "path": path,
                            "status": status,
                            "duration_ms": round(elapsed * 1000, 2),
                        },
                    )
                )
            request_id_var.reset(token)

    @staticmethod
    async def _problem(send: Send, status: int, code: str, detail: str, scope: Scope) -> None:
        body = orjson.dumps(problem_body(status, code, detail, instance=scope["path"]))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
