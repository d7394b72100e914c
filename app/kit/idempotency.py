"""``Idempotency-Key`` on every ``POST`` (one middleware, so no route can forget it).

The first request with a key claims it (a row committed before the request runs) and its
response is stored when it finishes. A retry with the same key and the same request gets the
stored response (``Idempotent-Replayed: true``); the same key with a different request is 422;
a retry while the first is still running is 409. Keys belong to one caller (client and subject)
and are kept 24 hours. Server errors are not stored, so a retry after a 5xx runs again.

The claim carries a lease: if a process dies between committing its work and storing the
response, a retry after the lease runs the request again. That window is a crash between two
statements; the alternative, holding the claim open across the request, would hold a second
connection per request.
"""

import hashlib
import logging
from datetime import timedelta

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import tokens
from app.kit import clock
from app.kit.errors import PROBLEM_JSON, problem_body
from app.models import IdempotencyKey

logger = logging.getLogger("accord.idempotency")
TTL = timedelta(hours=24)
LEASE = timedelta(seconds=60)
MAX_STORED_BODY = 1024 * 1024
KEPT_HEADERS = {b"content-type", b"etag", b"location"}


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(b"idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        key_text = key.decode("latin-1").strip()
        if not 1 <= len(key_text) <= 255:
            await _problem(send, 400, "invalid_idempotency_key", "Idempotency-Key: 1-255 chars")
            return
        owner = self._owner(scope, headers.get(b"authorization"))
        if owner is None:  # not authenticated: let the route answer 401
            await self.app(scope, receive, send)
            return

        body, more = await _read_body(receive)
        digest = hashlib.sha256(
            b"\n".join(
                [scope["method"].encode(), scope["path"].encode(), scope["query_string"], body]
            )
        ).digest()
        state = scope["app"].state
        claimed, existing = await self._claim(state, owner, key_text, digest)
        if not claimed:
            assert existing is not None
            if existing.request_hash != digest:
                await _problem(
                    send,
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was used with a different request",
                )
            elif existing.status is None:
                await _problem(
                    send,
                    409,
                    "idempotency_in_progress",
                    "A request with this Idempotency-Key is still being processed",
                    retry_after=True,
                )
            else:
                await _replay(send, existing)
            return

        captured: dict = {"status": None, "headers": [], "body": bytearray(), "too_big": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [
                    [k.decode("latin-1"), v.decode("latin-1")]
                    for k, v in message.get("headers", [])
                    if k.lower() in KEPT_HEADERS
                ]
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
                if len(captured["body"]) > MAX_STORED_BODY:
                    captured["too_big"] = True
            await send(message)

        replay_receive = _replaying(body, more, receive)
        try:
            await self.app(scope, replay_receive, capture)
        finally:
            await self._finish(state, owner, key_text, captured)

    @staticmethod
    def _owner(scope: Scope, authorization: bytes | None) -> str | None:
        if not authorization or not authorization.lower().startswith(b"bearer "):
            return None
        state = scope["app"].state
        try:
            claims = tokens.decode(
                authorization[7:].strip().decode("latin-1"), state.keyring, state.settings
            )
        except tokens.InvalidToken:
            return None
        return f"{claims['client_id']} {claims['sub']}"

    @staticmethod
    async def _claim(state, owner: str, key: str, digest: bytes):
        now = clock.now()
        async with state.session_factory() as session:
            await session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.owner == owner,
                    IdempotencyKey.key == key,
                    IdempotencyKey.expires_at <= now,
                )
            )
            # Take over a claim whose holder died (its lease ran out without a response).
            await session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.owner == owner,
                    IdempotencyKey.key == key,
                    IdempotencyKey.status.is_(None),
                    IdempotencyKey.locked_until <= now,
                )
            )
            inserted = await session.scalar(
                insert(IdempotencyKey)
                .values(
                    owner=owner,
                    key=key,
                    request_hash=digest,
                    locked_until=now + LEASE,
                    created_at=now,
                    expires_at=now + TTL,
                )
                .on_conflict_do_nothing()
                .returning(IdempotencyKey.key)
            )
            existing = None
            if inserted is None:
                existing = await session.scalar(
                    select(IdempotencyKey).where(
                        IdempotencyKey.owner == owner, IdempotencyKey.key == key
                    )
                )
            await session.commit()
            return inserted is not None, existing

    @staticmethod
    async def _finish(state, owner: str, key: str, captured: dict) -> None:
        status = captured["status"]
        where = (IdempotencyKey.owner == owner, IdempotencyKey.key == key)
        try:
            async with state.session_factory() as session:
                if status is None or status >= 500 or status == 429 or captured["too_big"]:
                    await session.execute(delete(IdempotencyKey).where(*where))
                else:
                    await session.execute(
                        update(IdempotencyKey)
                        .where(*where)
                        .values(
                            status=status,
                            headers=captured["headers"],
                            body=bytes(captured["body"]),
                            locked_until=None,
                        )
                    )
                await session.commit()
        except Exception:  # the response has gone out; a stale claim expires with its lease
            logger.exception("could not store the idempotent response")


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replaying(body: bytes, _more: bool, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _replay(send: Send, row: IdempotencyKey) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in row.headers or []]
    headers.append((b"idempotent-replayed", b"true"))
    headers.append((b"content-length", str(len(row.body or b"")).encode()))
    await send({"type": "http.response.start", "status": row.status, "headers": headers})
    await send({"type": "http.response.body", "body": row.body or b""})


async def _problem(send: Send, status: int, code: str, detail: str, retry_after=False) -> None:
    body = orjson.dumps(problem_body(status, code, detail))
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if retry_after:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
