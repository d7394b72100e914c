import base64
import hashlib
import hmac
import socket
import time

import pytest
from aiohttp import web
from sqlalchemy import text

from app.kit import db
from tests.factories import bearer, make_client, make_user, token

ADMIN_SCOPES = (
    "admin leads:read leads:write leads:convert accounts:read accounts:write contacts:read "
    "contacts:write opportunities:read opportunities:write"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A webhook endpoint on loopback: records every request; answers ``status``. Not
    listening at all until ``start()`` (connection refused: the endpoint is down)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.got.append(({k.lower(): v for k, v in request.headers.items()}, body))
        return web.Response(status=self.status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
async def receiver():
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
async def down_receiver():
    r = Receiver()
    yield r
    await r.stop()


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """A receiver's check, written from the Standard Webhooks spec: HMAC-SHA256 with the
    base64-decoded secret over ``{webhook-id}.{webhook-timestamp}.{body}``, compared in constant
    time with each ``v1,`` entry of the space-separated ``webhook-signature``; the timestamp
    must be recent."""
    msg_id = headers["webhook-id"]
    ts = headers["webhook-timestamp"]
    if abs(time.time() - int(ts)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(mac).decode()
    for entry in headers["webhook-signature"].split(" "):
        version, _, sig = entry.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return True
    return False


@pytest.fixture
async def committed_admin(committed_app):
    """(app, http client, admin headers) with real commits; webhooks made in the test are
    deleted afterwards so later tests' workers do not call dead receivers."""
    app, http = committed_app
    async with app.state.session_factory() as s:
        admin = await make_user(s, is_admin=True)
        client, secret = await make_client(s, ADMIN_SCOPES, user=admin)
        await s.commit()
    h = bearer(await token(http, client, secret))
    yield app, http, h
    maker = db.make_sessionmaker(app.state.engine)
    async with maker() as s:
        await s.execute(text("DELETE FROM webhook_subscriptions"))
        await s.execute(text("DELETE FROM jobs WHERE name = 'webhooks.send'"))
        await s.commit()
