"""A real SMTP peer on loopback (aiosmtpd, in a process of its own) that keeps what it receives,
pointed at it."""

import email
import socket
import subprocess
import sys
import time
import uuid
from email.policy import default
from pathlib import Path

import pytest

from app import jobs
from app.customfields import values
from app.kit import db
from tests.factories import make_user, user_token

ROOT = Path(__file__).resolve().parents[2]
SALES_REP = uuid.UUID("0190f000-0000-7000-8000-000000000003")
MARKETING = uuid.UUID("0190f000-0000-7000-8000-000000000004")
SCOPES = (
    "leads:read leads:write contacts:read contacts:write accounts:read accounts:write "
    "campaigns:read campaigns:write activities:read email_templates:read "
    "email_templates:write emails:read emails:send"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """What the SMTP server accepted: files its process wrote (tests/email/smtp_sink.py)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def _names(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.eml"))

    @property
    def raw(self) -> list[bytes]:
        return [(self.dir / f"{n}.eml").read_bytes() for n in self._names()]

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(raw, policy=default) for raw in self.raw]

    @property
    def envelopes(self) -> list[list[str]]:
        """The envelope recipients of each message."""
        return [(self.dir / f"{n}.rcpt").read_text().split() for n in self._names()]

    def refuse(self, address: str) -> None:
        with (self.dir / "refuse").open("a") as f:
            f.write(address + "\n")

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


class Smtp:
    """A real SMTP server (aiosmtpd) in its own process on a loopback port."""

    def __init__(self, directory: Path) -> None:
        self.inbox = Inbox(directory)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"127.0.0.1:{self.port}",
                "-c",
                "tests.email.smtp_sink.Collector",
                str(self.inbox.dir),
            ],
            cwd=ROOT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"220"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the SMTP server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture(scope="session")
def smtp_process(tmp_path_factory):
    server = Smtp(tmp_path_factory.mktemp("smtp"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server(smtp_process):
    """The session's SMTP server, its mailbox emptied for the test (and restarted after a test
    that stopped it)."""
    for f in smtp_process.inbox.dir.iterdir():
        f.unlink()
    yield smtp_process
    if smtp_process.process is None:
        smtp_process.start()


@pytest.fixture
def mail_settings(settings, smtp_server, monkeypatch):
    """The send job's settings: the loopback SMTP server."""
    ours = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port})
    monkeypatch.setattr("app.email.tasks.settings", lambda: ours)
    return ours


@pytest.fixture
def run_jobs(session, mail_settings):
    """Run due jobs in-process on the test's connection (inside its transaction)."""

    async def run() -> int:
        await session.flush()
        return await jobs.drain(db.savepoint_factory(session.bind), settings=mail_settings)

    return run


@pytest.fixture(autouse=True)
def _fresh_custom_fields():
    values.invalidate()
    yield
    values.invalidate()


@pytest.fixture
async def rep(client, session):
    user = await make_user(session, role_id=SALES_REP, name="Rita Rep")
    return user, await user_token(client, session, user, SCOPES)


@pytest.fixture
async def other(client, session):
    user = await make_user(session, role_id=MARKETING, name="Mark Eting")
    return user, await user_token(client, session, user, SCOPES)
