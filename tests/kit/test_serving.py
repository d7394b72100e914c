"""The HTTP protocol `accord serve` runs (app.kit.serving): uvicorn's, with a response written
in one piece. Served for real on a loopback port; what the socket carries is counted on the
real transport."""

import asyncio
import socket
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from app.kit import serving
from tests.factories import committed_user_token, post_ok

pytestmark = pytest.mark.skipif(serving.Protocol is None, reason="uvicorn without httptools")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def _served(app):
    """``app`` behind uvicorn on a free port; yields the base URL and the writes each
    connection made on its socket."""
    writes: list[bytes] = []

    class Counting(serving.Protocol):
        def connection_made(self, transport):
            real = transport.write

            def write(data):
                writes.append(bytes(data))
                real(data)

            transport.write = write
            super().connection_made(transport)

    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=Counting, lifespan="off", log_config=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "the server did not start"
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}", writes
    finally:
        server.should_exit = True
        await task


async def test_json_responses_go_out_in_one_write_each(committed_app, engine):
    app, client = committed_app
    h = await committed_user_token(app, client, "leads:read leads:write")
    lead = await post_ok(client, h, "leads", {"last_name": "Wire", "company": "One Write Co"})
    async with _served(app) as (base, writes), httpx.AsyncClient(base_url=base) as http:
        for _ in range(3):  # on one kept-alive connection
            writes.clear()
            r = await http.get(f"/api/v1/leads/{lead['id']}", headers=h)
            assert r.status_code == 200 and r.json() == lead
            assert r.headers["etag"] == '"1"'
            assert len(writes) == 1
            head, _, body = writes[0].partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK") and b"x-request-id" in head
            assert body == r.content

        # A problem, a 204 with no body, and a HEAD: each complete, each in one write.
        writes.clear()
        missing = await http.get("/api/v1/leads/0190f000-0000-7000-8000-00000000dead", headers=h)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert len(writes) == 1
        writes.clear()
        gone = await http.delete(f"/api/v1/leads/{lead['id']}", headers=h)
        assert gone.status_code == 204 and gone.content == b""
        assert len(writes) == 1 and writes[0].endswith(b"\r\n\r\n")
        # Committed: leave no deleted lead for the recycle bin tests' purges to find.
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM leads WHERE id = :id"), {"id": lead["id"]})
        writes.clear()
        head = await http.head("/healthz")
        assert head.status_code == 405 and head.content == b""  # GET only: a problem, headers only
        assert len(writes) == 1


async def test_a_streamed_response_is_not_held_back():
    """Writes are joined only within one turn of the event loop: a chunk the app sends before
    waiting reaches the client while the app waits."""
    release = asyncio.Event()

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first\n", "more_body": True})
        await release.wait()
        await send({"type": "http.response.body", "body": b"second\n", "more_body": False})

    async with _served(app) as (base, writes), httpx.AsyncClient(base_url=base) as http:
        async with http.stream("GET", "/") as r:
            chunks = r.aiter_raw()
            first = await asyncio.wait_for(chunks.__anext__(), 5)
            assert first == b"first\n"
            assert not release.is_set()
            release.set()
            rest = b"".join([chunk async for chunk in chunks])
        assert rest == b"second\n"
        # Status line, headers and the first chunk in one write; the last chunk in another.
        assert len(writes) == 2
        assert writes[0].startswith(b"HTTP/1.1 200 OK") and b"first" in writes[0]


async def test_pipelined_requests_are_answered_in_order():
    """Two requests sent in one packet: both answers come back, in order, and whole."""

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = scope["path"].encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async with _served(app) as (base, _writes):
        port = int(base.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        received = b""
        while received.count(b"HTTP/1.1 200") < 2 or not received.endswith(b"/two"):
            chunk = await asyncio.wait_for(reader.read(65536), 5)
            assert chunk, received
            received += chunk
        writer.close()
        first, second = received.split(b"HTTP/1.1 200 OK")[1:]
        assert first.endswith(b"/one") and second.endswith(b"/two")
