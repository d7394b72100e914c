"""Engine, sessions and the one-transaction-per-request dependency."""

import json
import re
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated

import asyncpg
import orjson
from fastapi import Depends, Request
from sqlalchemy import MetaData, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.util import greenlet_spawn

from app.config import Settings
from app.kit.errors import AppError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def async_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs (what people paste) and use asyncpg."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            rest = url[len(prefix) :]
            return "postgresql+asyncpg://" + rest
    return url


def _json_dumps(value) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:  # integers beyond 64 bits: as the standard library writes
        return json.dumps(value)


_LONG_NUMBER = re.compile(r"\d{19}")


def json_loads(text: str):
    if text == "{}":  # most records' custom fields
        return {}
    # orjson reads integers beyond 64 bits as floats; JSONB keeps them exactly, and so does the
    # standard library.
    if _LONG_NUMBER.search(text):
        return json.loads(text)
    return orjson.loads(text)


def create_engine(settings: Settings, url: str, **kw) -> AsyncEngine:
    server_settings = {
        "lock_timeout": str(settings.db_lock_timeout_ms),
        "statement_timeout": str(settings.db_statement_timeout_ms),
        "idle_in_transaction_session_timeout": "60000",
        "application_name": "accord",
    }
    kw.setdefault("pool_size", settings.db_pool_size)
    kw.setdefault("max_overflow", settings.db_max_overflow)
    return create_async_engine(
        async_url(url),
        pool_pre_ping=False,
        # JSON columns through orjson: the standard library's decoder was a tenth of a list.
        json_serializer=_json_dumps,
        json_deserializer=json_loads,
        connect_args={"server_settings": server_settings},
        **kw,
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def session_factory_for(maker: async_sessionmaker[AsyncSession]) -> SessionFactory:
    @asynccontextmanager
    async def factory() -> AsyncIterator[AsyncSession]:
        async with maker() as session:
            yield session

    return factory


# session.info key: the engine whose connections a prepared statement may borrow while the
# session holds none (API reads; see Prepared._lent).
_LEND = "accord.lend"


class _Opened:
    """``async with`` a new session: closed on the way out unless it never began a transaction
    nor held an object (then there is nothing to close, and closing still costs a greenlet)."""

    __slots__ = ("_maker", "_session")

    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self._maker = maker

    async def __aenter__(self) -> AsyncSession:
        self._session = self._maker()
        return self._session

    async def __aexit__(self, *exc_info) -> None:
        sync = self._session.sync_session
        if sync.get_transaction() is not None or sync.identity_map or sync.new or sync.deleted:
            await self._session.close()


def _opening(maker: async_sessionmaker[AsyncSession]) -> SessionFactory:
    def factory() -> _Opened:
        return _Opened(maker)

    return factory  # type: ignore[return-value]


def read_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions for API reads: autocommit, so a GET sends no BEGIN and no COMMIT (each read is one
    statement). A :class:`Prepared` statement on one, while it has no transaction, runs on a
    connection lent for that statement alone, so a request never holds two connections."""
    reads = engine.execution_options(isolation_level="AUTOCOMMIT")
    return _opening(
        async_sessionmaker(reads, expire_on_commit=False, autoflush=False, info={_LEND: engine})
    )


def write_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions for requests that may write, on ``engine``."""
    return _opening(make_sessionmaker(engine))


def savepoint_factory(conn: AsyncConnection) -> SessionFactory:
    """Sessions that share ``conn`` and its transaction, each inside a savepoint: committing or
    rolling one back touches only its own work (batch operations; tests)."""

    @asynccontextmanager
    async def factory() -> AsyncIterator[AsyncSession]:
        s = AsyncSession(
            bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield s
        finally:
            await s.close()

    return factory


class request_session:
    """The request's one transaction: committed once if the handler succeeds, rolled back if not
    (but for errors whose side effects must persist). A class rather than an
    ``asynccontextmanager``: it is entered by every request."""

    __slots__ = ("_context", "_request", "_session")

    def __init__(self, request: Request) -> None:
        self._request = request

    async def __aenter__(self) -> AsyncSession:
        request = self._request
        # A batch runs its operations inside its own transaction: it sets a factory on each
        # operation's scope, which wins over the application's.
        factory: SessionFactory | None = request.scope.get("accord.session_factory")
        if factory is None:
            state = request.app.state
            factory = state.session_factory
            if (
                request.method == "GET"
                and state.read_session_factory is not None
                and request.scope["path"].startswith("/api/")
            ):
                factory = state.read_session_factory
        self._context = factory()
        self._session = await self._context.__aenter__()
        return self._session

    async def __aexit__(self, exc_type, exc, tb) -> None:
        session = self._session
        try:
            if exc is None:
                if not _idle(session):
                    await session.commit()
            elif isinstance(exc, AppError) and exc.persist:
                await session.commit()
            else:
                await session.rollback()
        except BaseException as failed:
            if not await self._context.__aexit__(type(failed), failed, failed.__traceback__):
                raise
            return
        await self._context.__aexit__(exc_type, exc, tb)


def _idle(session: AsyncSession) -> bool:
    """Nothing begun and nothing pending: a commit would do nothing but cost its bookkeeping."""
    sync = session.sync_session
    return sync.get_transaction() is None and not (sync.new or sync.deleted or sync.dirty)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """:func:`request_session` as a dependency. Declared with ``scope="function"`` so the commit
    happens before the response is sent: a client never sees a 2xx for a change that then fails
    to commit."""
    async with request_session(request) as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


# With the engine's JSON writer (orjson; the default would be the standard library's).
_ASYNCPG = postgresql.asyncpg.dialect(json_serializer=_json_dumps, json_deserializer=json_loads)
_DRIVER = "accord.driver"
# Errors that mean the connection itself is gone.
_LOST = (
    asyncpg.InterfaceError,  # "connection is closed": the server ended it while it was idle
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    ConnectionError,
)


class Prepared:
    """A statement compiled once to asyncpg's SQL and run on the session's own connection,
    skipping SQLAlchemy's per-execution work: for the statements every request makes (the token
    check, the record read, the history and change-feed rows of a write). Parameters are bound
    by name, through the same type processing SQLAlchemy would apply; values the statement
    carries (literals) are bound from the compiled defaults. Rows come back as asyncpg records
    (mapping access; JSON decoded by the dialect's codecs on the connection)."""

    def __init__(self, stmt) -> None:
        compiled = stmt.compile(dialect=_ASYNCPG)
        self.stmt = stmt
        self.sql = str(compiled)
        self.names = tuple(compiled.positiontup or ())
        self.defaults = dict(compiled.params)
        self.processors = {}
        for name in self.names:
            impl = compiled.binds[name].type.dialect_impl(_ASYNCPG)
            processor = impl.bind_processor(_ASYNCPG)
            if processor is not None:
                self.processors[name] = processor

    def _args(self, params: dict) -> list:
        args = []
        for n in self.names:
            value = params[n] if n in params else self.defaults[n]
            proc = self.processors.get(n)
            args.append(proc(value) if proc is not None else value)
        return args

    async def _driver(self, session: AsyncSession):
        # The asyncpg connection of the session's transaction, looked up once per transaction
        # (each lookup passes through SQLAlchemy's greenlet bridge twice).
        transaction = session.sync_session.get_transaction()
        cached = session.info.get(_DRIVER)
        if cached is not None and transaction is not None and cached[0]() is transaction:
            return cached[1]
        conn = await session.connection()
        driver = (await conn.get_raw_connection()).driver_connection
        # The transaction by weak reference: it refers to the session, and a strong one here
        # made a cycle, which left every write's session for the garbage collector (its young
        # collections, 8 ms each, were the p99 of creates).
        session.info[_DRIVER] = (weakref.ref(session.sync_session.get_transaction()), driver)
        return driver

    async def _lent(self, session: AsyncSession, method: str, params: dict):
        """Run on a connection lent by the pool for this statement alone (read sessions without
        a connection of their own); ``_NOT_LENT`` where the session's own connection is due.

        A connection found lost (the database restarted, an idle connection was cut) is
        discarded with every other connection the pool made before it, and the statement, a
        read that changed nothing, is run once more on a new one."""
        engine = session.info.get(_LEND)
        if engine is None or session.sync_session.get_transaction() is not None:
            return _NOT_LENT
        return await self._on_lent(engine, method, params, again=True)

    async def _on_lent(self, engine: AsyncEngine, method: str, params: dict, *, again: bool):
        """Run on a lent connection, outside any transaction; with ``again``, once more on a
        new connection if the first was found lost."""
        args = self._args(params)
        lender = _lender(engine)
        for attempt in (1, 2):
            generation = lender.generation
            raw = lender.take() or await engine.raw_connection()
            try:
                result = await getattr(raw.driver_connection, method)(self.sql, *args)
            except BaseException as exc:
                if isinstance(exc, asyncpg.PostgresError) and not isinstance(exc, _LOST):
                    # The statement failed (a timeout, bad data); the link is fine.
                    if not lender.keep_for_next(raw, generation):
                        await greenlet_spawn(raw.close)
                    raise
                raw.invalidate()  # lost, or left mid-statement: never lent again
                if isinstance(exc, _LOST):
                    await _forget_older(engine, generation)
                    if again and attempt == 1:
                        continue
                raise
            if not lender.keep_for_next(raw, generation):
                # Back to the pool, in SQLAlchemy's greenlet: a pool that is full closes it.
                await greenlet_spawn(raw.close)
            return result
        raise AssertionError("unreachable")

    async def fetchrow(self, session: AsyncSession, params: dict):
        result = await self._lent(session, "fetchrow", params)
        if result is not _NOT_LENT:
            return result
        driver = await self._driver(session)
        return await driver.fetchrow(self.sql, *self._args(params))

    async def fetch(self, session: AsyncSession, params: dict) -> list:
        result = await self._lent(session, "fetch", params)
        if result is not _NOT_LENT:
            return result
        driver = await self._driver(session)
        return await driver.fetch(self.sql, *self._args(params))

    async def _in_transaction(self, session: AsyncSession):
        """The session's asyncpg connection when its transaction has begun; None before that
        (the statement then goes through SQLAlchemy, which sends the BEGIN)."""
        driver = await self._driver(session)
        return driver if driver.is_in_transaction() else None

    async def fetchrow_written(self, session: AsyncSession, params: dict):
        """For a write that returns its row (INSERT ... RETURNING): inside the session's
        transaction."""
        driver = await self._in_transaction(session)
        if driver is None:
            return (await session.execute(self.stmt, params)).one()
        return await driver.fetchrow(self.sql, *self._args(params))

    async def fetch_written(self, session: AsyncSession, params: dict) -> list:
        """For a write that returns rows (a data-modifying CTE with a SELECT): inside the
        session's transaction, never on a lent connection outside it."""
        driver = await self._in_transaction(session)
        if driver is None:
            return list((await session.execute(self.stmt, params)).mappings())
        return await driver.fetch(self.sql, *self._args(params))

    async def fetchrow_alone(self, session: AsyncSession, params: dict):
        """For a statement that is the whole of its request's write (it carries everything that
        must commit together, and nothing is written after it). Where nothing has begun in the
        database (no BEGIN sent: the session has done nothing, or only read), it runs outside
        any transaction, which makes it a transaction of its own (BEGIN and COMMIT were two of
        a create's four round trips): on a lent connection when the session holds none, else on
        the session's own; otherwise as :meth:`fetchrow_written`, inside the transaction.

        A lent connection found lost is not tried again: whether the statement committed before
        the link broke is not known, so the error goes to the caller, as on any write."""
        sync = session.sync_session
        if not (sync.new or sync.dirty or sync.deleted):
            if sync.get_transaction() is None:
                engine = session.bind
                if isinstance(engine, AsyncEngine):
                    return await self._on_lent(engine, "fetchrow", params, again=False)
            else:
                driver = await self._driver(session)
                if not driver.is_in_transaction():
                    return await driver.fetchrow(self.sql, *self._args(params))
        return await self.fetchrow_written(session, params)

    async def execute(self, session: AsyncSession, params: dict) -> None:
        """For writes: inside the session's transaction."""
        driver = await self._in_transaction(session)
        if driver is None:
            await session.execute(self.stmt, params)
            return
        await driver.execute(self.sql, *self._args(params))


_NOT_LENT = object()


async def _forget_older(engine: AsyncEngine, generation: int) -> None:
    """As SQLAlchemy does on a disconnect: the connections made before now most likely share the
    fate of the one found lost, so the pool is replaced (once per loss: not again by a request
    that took its connection before the replacement)."""
    if _lender(engine).generation == generation:
        await engine.dispose()


class _Lender:
    """Connections a lent statement (a read, or a create alone) has finished with, kept checked
    out for the next one: these statements run in autocommit and leave nothing on the
    connection, and a checkout and checkin through the pool is a greenlet and its events each
    time. At most ``keep`` wait here; the rest go back to the pool, and so do these when the
    engine is disposed of (then ``generation`` moves on, and a connection taken before is not
    kept: it belongs to the pool that was replaced)."""

    __slots__ = ("__weakref__", "generation", "idle", "keep")

    def __init__(self, engine: AsyncEngine) -> None:
        sync = engine.sync_engine
        self.idle: list = []
        self.generation = 0
        # Half the pool: most of the statements in flight at once in a busy worker, and never
        # more than sessions can spare (they still have the other half and the overflow).
        size = getattr(sync.pool, "size", None)
        self.keep = max(1, size() // 2) if callable(size) else 2
        lender = weakref.ref(self)

        def disposed(_engine) -> None:
            this = lender()
            if this is not None:
                this.generation += 1
                this.drop()

        event.listen(sync, "engine_disposed", disposed)

    def take(self):
        idle = self.idle
        while idle:
            raw = idle.pop()
            if not raw.driver_connection.is_closed():
                return raw
            raw.invalidate()  # the server ended it while it waited here
        return None

    def keep_for_next(self, raw, generation: int) -> bool:
        if len(self.idle) < self.keep and raw.is_valid and generation == self.generation:
            self.idle.append(raw)
            return True
        return False

    def drop(self) -> None:
        """Close the kept connections (their pool may be gone: they are not given back)."""
        idle, self.idle = self.idle, []
        for raw in idle:
            raw.invalidate()


_LENDERS: "weakref.WeakKeyDictionary[object, _Lender]" = weakref.WeakKeyDictionary()


def _lender(engine: AsyncEngine) -> _Lender:
    lender = _LENDERS.get(engine.sync_engine)
    if lender is None:
        lender = _LENDERS[engine.sync_engine] = _Lender(engine)
    return lender


def lent_connections(engine: AsyncEngine) -> int:
    """Connections the engine keeps checked out between lent statements (see _Lender)."""
    lender = _LENDERS.get(engine.sync_engine)
    return len(lender.idle) if lender is not None else 0
