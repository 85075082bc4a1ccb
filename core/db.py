"""Database engine and the per-request session.

Strawberry resolves sibling fields concurrently, and one `AsyncSession` must never be used by
two coroutines at once; `RequestDb` hands the request's single session out under a lock, so
resolvers and dataloaders share it safely. Services never commit: the request boundary does.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy import event, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.broker import CHANNEL, writer_notice

if TYPE_CHECKING:
    from core.replicas import ReadReplicas, Replica

SessionFactory = async_sessionmaker[AsyncSession]


def make_engine(
    url: str, *, pool_size: int = 10, pre_ping: bool = False, statement_timeout_ms: int = 30_000
) -> AsyncEngine:
    """The pool. Every connection has `statement_timeout` (DB_STATEMENT_TIMEOUT_MS) set by the
    server, so a runaway statement is cancelled by PostgreSQL even when the client is stuck.
    Without `pre_ping`, a connection the server closed (a restart, a terminated backend: asyncpg
    sees the socket close) is still replaced at checkout, without a round trip; `pre_ping` also
    catches silently dead peers, at the price of BEGIN; SELECT; ROLLBACK (three round trips)
    before every request's first statement."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        # A statement that runs away must not hold a connection forever.
        connect_args={"server_settings": {"statement_timeout": str(statement_timeout_ms), "timezone": "UTC"}},
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


class ReadsPool:
    """The compiled reads' connections (`web.compiled`): up to `size` asyncpg connections, each
    running one read-only statement at a time outside a transaction, set up as the engine's
    (statement timeout, UTC).

    Why not asyncpg's `Pool`: its acquire and release (a timeout context, a shielded release task,
    the reset query) cost about 35 µs of CPU per request, more than the rest of a compiled public
    lookup's own work; these connections never hold state to reset. A connection whose statement
    failed is closed, never reused: the next request opens a fresh one."""

    def __init__(self, url: str, *, size: int = 10, statement_timeout_ms: int = 30_000) -> None:
        self._dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self._settings = {"statement_timeout": str(statement_timeout_ms), "timezone": "UTC"}
        self._idle: list[asyncpg.Connection] = []
        self._slots = asyncio.Semaphore(size)
        self._closed = False

    async def fetchval(self, sql: str, *args: Any, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        """One statement's single value; `timeout` is asyncpg's (it cancels the statement on the server)."""
        return await self._run(asyncpg.Connection.fetchval, sql, args, timeout)

    async def fetchrow(self, sql: str, *args: Any, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        """One statement's first row (None when it has none), as `fetchval`."""
        return await self._run(asyncpg.Connection.fetchrow, sql, args, timeout)

    async def _run(self, fetch: Any, sql: str, args: tuple[Any, ...], timeout: float | None) -> Any:  # noqa: ASYNC109
        """`fetch(connection, sql, *args)` on an idle connection (or a new one), given back after."""
        async with self._slots:
            connection = self._idle.pop() if self._idle else await self._connect()
            try:
                value = await fetch(connection, sql, *args, timeout=timeout)
            except BaseException:
                connection.terminate()
                raise
            if self._closed:
                await connection.close()
            else:
                self._idle.append(connection)
            return value

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self._dsn, server_settings=self._settings)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")  # the pool takes a fresh one


# Raised when PostgreSQL is restarting, shutting down or unreachable (not by a bad statement).
_UNREACHABLE = (
    asyncpg.CannotConnectNowError,  # "the database system is starting up / shutting down"
    asyncpg.ConnectionDoesNotExistError,  # "connection was closed in the middle of operation"
    asyncpg.AdminShutdownError,
    asyncpg.InterfaceError,
)


def _from_driver(error: BaseException) -> bool:
    tb = error.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith(("asyncpg", "sqlalchemy")):
            return True
        tb = tb.tb_next
    return False


def is_database_unavailable(error: BaseException) -> bool:
    """True when `error` (or what caused it) says the database cannot be reached right now, so a
    request can be answered "try again" (503) rather than as an internal error. The pool drops
    the broken connections itself (closed ones at checkout, invalidation on disconnect): recovery needs
    nothing but PostgreSQL answering again."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _UNREACHABLE):
            return True
        # refused, reset, no Unix socket file while the server is down — from the driver only
        # (a timeout or a missing file elsewhere is not the database's)
        if isinstance(current, (ConnectionError, FileNotFoundError)) and _from_driver(current):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


# The autocommit view of each engine (same pool), made once; engines live as long as the process.
_AUTOCOMMIT: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


class RequestDb:
    """One lazily opened session per request, used by one coroutine at a time; and, for the reads
    that tolerate a little lag, a second one on a read replica (`read_session`)."""

    def __init__(self, factory: SessionFactory, replicas: ReadReplicas | None = None) -> None:
        self._factory = factory
        self._session: AsyncSession | None = None
        self._lock = asyncio.Lock()
        self._replicas = replicas
        self._replica: Replica | None = None
        self._replica_chosen = False
        self._read: AsyncSession | None = None
        self._read_lock = asyncio.Lock()
        # Who reads (`core.replicas.ReadReplicas.wrote`): set once the caller is known.
        self.caller: str | None = None
        # A mutation runs: every read stays on the primary; its commit is remembered for the caller.
        self.writing = False

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._lock:
            if self._session is None:
                self._session = self._factory()
            yield self._session

    async def replica(self) -> Replica | None:
        """The replica this request reads from, chosen once (None: the primary): none inside a
        mutation, none for a caller who just wrote, none unless one is healthy and close enough."""
        if self.writing or self._replicas is None:
            return None
        if not self._replica_chosen:
            self._replica = await self._replicas.pick(self.caller)
            self._replica_chosen = True
        return self._replica

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads that tolerate a little lag (public lookup, catalog, published
        answers, statistics, exports): on a read replica when one is usable for this caller,
        else the request's own session. Never for reads that decide a write."""
        replica = await self.replica()
        if replica is None:
            async with self.session() as session:
                yield session
            return
        async with self._read_lock, self._failing_over(replica):
            if self._read is None:
                self._read = replica.factory()
            yield self._read

    @asynccontextmanager
    async def _failing_over(self, replica: Replica | None) -> AsyncIterator[None]:
        """A replica that turns out unreachable is skipped from now on (until its next good check),
        by this request's later reads (the compiled path hands over to the executor) and others."""
        try:
            yield
        except Exception as error:
            if replica is not None and self._replicas is not None and is_database_unavailable(error):
                self._replicas.failed(replica)
                self._replica_chosen = False
            raise

    @asynccontextmanager
    async def autocommit(self, *, lag_ok: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection of its own in autocommit mode, for one read-only statement that needs no
        snapshot shared with other reads (the public lookup): no session, no BEGIN and ROLLBACK.
        `lag_ok`: on the request's replica, if it has one."""
        replica = await self.replica() if lag_ok else None
        bind = replica.engine if replica is not None else self._factory.kw.get("bind")
        if not isinstance(bind, AsyncEngine):  # bound to one connection (the tests): share it
            async with self.session() as session:
                yield await session.connection()
            return
        engine = _AUTOCOMMIT.get(bind)
        if engine is None:
            engine = _AUTOCOMMIT[bind] = bind.execution_options(isolation_level="AUTOCOMMIT")
        async with self._failing_over(replica), engine.connect() as connection:
            yield connection

    @property
    def opened(self) -> bool:
        return self._session is not None

    async def finish(self, *, commit: bool) -> None:
        """Commit (or roll back) and close; called once by the request boundary. A committed
        mutation sends its caller's next reads to the primary for a while (read-your-writes)."""
        await self._finish_read()
        if self._session is None:
            return
        async with self._lock:
            session, self._session = self._session, None
            if session is None:  # finished by another coroutine while this one waited
                return
            try:
                if commit:
                    await self._tell_writers(session)
                    await session.commit()
                    if self.writing and self._replicas is not None:
                        self._replicas.wrote(self.caller)
                else:
                    await session.rollback()
            finally:
                await session.close()

    async def _tell_writers(self, session: AsyncSession) -> None:
        """A mutation about to commit tells every process (their brokers) that its caller wrote,
        in its transaction: PostgreSQL delivers it at the commit, before the caller has the answer
        and can ask another host (`core.replicas.ReadReplicas.heard`)."""
        if not self.writing or self.caller is None or self._replicas is None or not self._replicas.replicas:
            return
        await session.execute(select(func.pg_notify(CHANNEL, writer_notice(self.caller))))

    async def _finish_read(self) -> None:
        self._replica, self._replica_chosen = None, False
        if self._read is None:
            return
        async with self._read_lock:
            read, self._read = self._read, None
            if read is not None:
                await read.close()  # read only: closing rolls its transaction back
