"""Resolved principals kept per access token, forgotten the moment what they rest on changes.

Every request checks its token against the database (app/auth/principal.py): client, grant and
token not revoked, user active, scopes as the client and user allow now, and the users below
an internal user (roles below theirs, partner users of the accounts they manage). That check
is a database round trip on every request (docs/PERFORMANCE.md). Its answer only
changes when a row of ``users``, ``api_clients``, ``oauth_grants`` or
``oauth_revoked_access_tokens`` does, or a role's parent, or an account's owner or channel
manager, so it is kept here, per token, and dropped:

- at once, in this process, when a session of this process commits such a change (the ORM
  events below: object changes and ORM ``UPDATE``/``DELETE``/``INSERT`` statements);
- within milliseconds, in every process, when anyone commits one: triggers on those tables
  ``NOTIFY accord_auth`` (migration ``principal_cache_notify``), and each process LISTENs on a
  connection of its own (:func:`listen`);
- at the latest after ``principal_cache_seconds`` (30 s), as a backstop.

The cache answers only while its process is listening: before the listener is up, after its
connection is lost and until it is back, every request goes to the database. Tokens are still
verified (signature, expiry, key) on every request; only the database's answer is kept.
"""

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.util import greenlet_spawn

from app.models import Account, ApiClient, Grant, RevokedAccessToken, Role, User

if TYPE_CHECKING:
    from app.auth.principal import Principal

logger = logging.getLogger("accord.auth.cache")
CHANNEL = "accord_auth"
MAX_ENTRIES = 10_000
# The columns a principal is made of (app/auth/principal.py); other changes (a login's
# counters, a name) leave cached principals alone.
_COLUMNS = {
    # Which users are below whom (Principal.below).
    Role: {"parent_id"},
    Account: {"owner_id", "channel_manager_id"},
    User: {
        "is_active",
        "kind",
        "is_admin",
        "role_id",
        "partner_account_id",
        "partner_role",
        "contact_id",
    },
    ApiClient: {"client_id", "allowed_scopes", "revoked_at", "partner_account_id"},
    Grant: {"revoked_at"},
    RevokedAccessToken: None,  # any change
}
_TABLES = {m.__tablename__ for m in _COLUMNS}
# A new account has no partner users yet (they are added to it later, a change of ``users``);
# accounts are created all the time (every lead conversion), principals need not be dropped.
_NEW_UNRELATED = {Account}
_NEW_UNRELATED_TABLES = {m.__tablename__ for m in _NEW_UNRELATED}
_FLAG = "accord.auth_changed"


class PrincipalCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Any]] = {}
        # Bumped by every invalidation: a lookup that began before one does not store its
        # (possibly stale) answer.
        self.generation = 0
        self._listeners = 0
        self.listener_pid: int | None = None  # the listening server process, for operators
        self.ttl = 30.0

    @property
    def active(self) -> bool:
        return self._listeners > 0 and self.ttl > 0

    def get(self, token: str) -> "Principal | None":
        if not self.active:
            return None
        hit = self._entries.get(token)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            self._entries.pop(token, None)
            return None
        return hit[1]

    def put(self, token: str, principal: "Principal", generation: int) -> None:
        if not self.active or generation != self.generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[token] = (time.monotonic() + self.ttl, principal)

    def invalidate(self, *_: Any) -> None:
        self.generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


principals = PrincipalCache()


async def listen(engine: AsyncEngine, ttl: float, stopping: asyncio.Event) -> None:
    """Keep a LISTEN on ``accord_auth`` open on a connection of its own until ``stopping``; the
    cache answers only while it is open. Reconnects after errors."""
    principals.ttl = ttl
    if ttl <= 0:
        return
    while not stopping.is_set():
        pause = 1
        try:
            if not await _listen_once(engine, stopping):
                # A database without the triggers (not migrated yet): nothing would tell this
                # process of changes, so nothing is kept. Looked at again now and then.
                logger.warning("no accord_auth triggers in the database: principals not cached")
                pause = 60
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("principal cache listener lost; reconnecting", exc_info=True)
        if not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), pause)


async def _listen_once(engine: AsyncEngine, stopping: asyncio.Event) -> bool:
    """Listen until ``stopping`` or the connection is lost; False at once where the database
    has no triggers to notify."""
    lost = asyncio.Event()
    raw = await engine.raw_connection()
    driver = raw.driver_connection
    try:
        if not await driver.fetchval("SELECT to_regproc('accord_auth_notify') IS NOT NULL"):
            await greenlet_spawn(raw.close)  # a full pool closes it: IO, in SQLAlchemy's greenlet
            return False
        driver.add_termination_listener(lambda *_: lost.set())
        await driver.add_listener(CHANNEL, principals.invalidate)
        principals.invalidate()  # anything may have changed while no one listened
        principals._listeners += 1
        principals.listener_pid = driver.get_server_pid()
        try:
            while not stopping.is_set() and not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_either(stopping, lost), 10)
                if not stopping.is_set() and not lost.is_set():
                    await driver.execute("SELECT 1")  # a link dead without a word shows here
        finally:
            principals._listeners -= 1
            principals.invalidate()
    except BaseException:
        raw.invalidate()
        raise
    if lost.is_set():
        raw.invalidate()
        return True
    with contextlib.suppress(Exception):
        await driver.remove_listener(CHANNEL, principals.invalidate)
    await greenlet_spawn(raw.close)
    return True


async def _either(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


# --- this process's own changes: forgotten when they commit --------------------------------


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    # Still the state before the flush here: new, dirty and deleted as they were.
    for obj in session.new:
        if type(obj) in _COLUMNS and type(obj) not in _NEW_UNRELATED:
            session.info[_FLAG] = True
            return
    for obj in session.deleted:
        if type(obj) in _COLUMNS:
            session.info[_FLAG] = True
            return
    for obj in session.dirty:
        columns = _COLUMNS.get(type(obj), ())
        if columns is None:
            session.info[_FLAG] = True
            return
        # get_history, not inspect(obj).attrs: the attribute view that builds stays with the
        # object's state and makes a reference cycle.
        if any(get_history(obj, name).has_changes() for name in columns):
            session.info[_FLAG] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _on_statement(state) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        name = getattr(getattr(state.statement, "table", None), "name", None)
        if name in _TABLES and not (state.is_insert and name in _NEW_UNRELATED_TABLES):
            state.session.info[_FLAG] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_FLAG, False):
        principals.invalidate()
