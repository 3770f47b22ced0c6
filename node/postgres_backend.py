"""Tortoise's asyncpg backend, made to survive a database connection that goes away.

Tortoise 1.1.9 keeps "the connection of this task" in a context variable; a transaction
sets it to its own client and resets it on the way out. Two paths left it set for ever
(`tortoise/backends/base/client.py`, `TransactionContextPooled`):

- `__aenter__` (lines 362-371) sets the variable (line 369) *before* `begin()` (line
  370). When BEGIN fails, `__aexit__` never runs, so neither the reset nor the release
  happens. BEGIN fails when the pooled connection was cut (pg_terminate_backend, a
  restart, a failover, a pooler reset) while the event loop was too busy to notice:
  the pool hands it out as open. asyncpg then sees it close and hands the holder back
  to the pool, which detaches the proxy that the stuck transaction client still holds.
- `__aexit__` (lines 373-385) releases the connection before the reset, in one
  `finally`. asyncpg resets a connection on release with a query; when the server cut
  it just after COMMIT, the release raises and the reset is skipped. (The committed
  transaction is also reported as failed, so its work would be done a second time.)

Either way every later query of that task (a queue worker's loop, for one) goes to the
dead client, and every transaction becomes a savepoint on the released proxy:
`InterfaceError: cannot call Connection.transaction(): connection has been released back
to the pool`, twice a second, until the process is restarted.

This client's transactions set the variable only once BEGIN has succeeded, always reset
it, and give the connection back whatever happens; a failed release after a commit is
not an error. Connection-level failures (refused, cut, server restarting, too many
connections) are raised as `node.db_faults.DatabaseUnavailable`, so callers can answer
503 and loops can log them once. Selected by `node.db.tortoise_config` for PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    NestedTransactionContext,
    PoolConnectionWrapper,
    TransactionalDBClient,
    TransactionContext,
)
from tortoise.connection import get_connections

from node import db_faults
from node.db_faults import DatabaseUnavailable

log = logging.getLogger("nabuur.db")

CONNECT_TIMEOUT = 10.0  # asyncpg waits 60 s for a server that does not answer

# Pooled connections a process keeps for reads outside a transaction (of tortoise's five):
# taking one from asyncpg's pool and giving it back cost ~40 µs of CPU per statement, as
# much as the read itself (a page reads about a dozen times). More reads at once than
# this take the pool's usual way.
READERS = 2
# A kept connection idle longer than this goes back to the pool rather than being used:
# the pool retires idle connections (after 300 s) before a firewall or NAT drops them
# silently (some after ~4 min), which would leave a read hanging for minutes.
READER_IDLE_SECONDS = 60.0


class _PoolFloorNotice(logging.Filter):
    """asyncpg's pool reconnects its minimum of connections in the background and logs
    each failed try with a traceback (after 1, 2, 4... 60 s: one a minute while the
    database is away). The node reports the fault itself (`node.db_faults`): keep one
    plain line now and then, with the cause."""

    def __init__(self) -> None:
        super().__init__()
        self._last = float("-inf")

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith("Failed to restore the pool connection floor"):
            return True
        now = time.monotonic()
        if now - self._last < db_faults.REMIND_SECONDS:
            return False
        self._last = now
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.msg}: {db_faults.describe(record.exc_info[1])}"
            record.args = None
        record.exc_info = None
        return True


logging.getLogger("asyncpg.pool").addFilter(_PoolFloorNotice())


def _unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """`exc` as DatabaseUnavailable when it means the database cannot be used now."""
    if isinstance(exc, DatabaseUnavailable):
        return exc
    if isinstance(exc, OSError):  # refused, unreachable, timed out: only the database here
        return DatabaseUnavailable(db_faults.UNREACHABLE, f"{type(exc).__name__}: {exc}")
    fault = db_faults.fault_of(exc)
    if fault is None:
        return None
    return DatabaseUnavailable(fault, f"{type(exc).__name__}: {exc}"[:200])


async def _release(pool: Any, connection: Any) -> None:
    """Give a connection back, never failing: asyncpg terminates one it cannot reset."""
    if pool is None or connection is None:
        return
    try:
        await pool.release(connection)
    except Exception as exc:  # the server cut it; the pool opens a new one when needed
        log.debug("releasing a database connection failed: %s", type(exc).__name__)


def _open(connection: Any) -> bool:
    """Whether a kept pooled connection can still be used: asyncpg takes one back into
    its pool (and detaches what we hold) once it notices the server cut it."""
    try:
        return not connection.is_closed()
    except asyncpg.InterfaceError:
        return False


class _TranslatesFaults:
    async def _translate_exceptions(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super()._translate_exceptions(func, *args, **kwargs)  # type: ignore[misc]
        except Exception as exc:
            unavailable = _unavailable(exc)
            if unavailable is None or unavailable is exc:
                raise
            raise unavailable from exc


class _Connection(asyncpg.Connection):
    """A pooled connection that remembers whether a transaction used it."""

    used_in_transaction = False

    def mark_used_in_transaction(self) -> None:
        self.used_in_transaction = True


async def _reset_after_transaction(connection: _Connection) -> None:
    """The pool's reset: asyncpg's full reset query after a transaction, none after a single
    statement. asyncpg rolls back what is still open before this runs. Most statements
    run alone, one pooled connection each, and the reset query cost about as much CPU as
    the statement it followed (a page asks a dozen); a single statement here leaves no
    session state behind (no SET, LISTEN, cursor or session advisory lock: those are
    transaction-scoped or on connections of their own, `queue_signals`). After a
    transaction the query stays: it also finds a connection the server cut just after
    COMMIT, which is then closed instead of handed out again."""
    if connection.used_in_transaction:
        connection.used_in_transaction = False
        await connection.execute(connection.get_reset_query())


class SafePoolConnection(PoolConnectionWrapper):
    """A connection for one query: a failure to give it back does not undo the query."""

    async def __aenter__(self) -> Any:
        try:
            return await super().__aenter__()
        except Exception as exc:
            unavailable = _unavailable(exc)
            if unavailable is None or unavailable is exc:
                raise
            raise unavailable from exc

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        await _release(self.client._pool, self.connection)


class SafeTransactionContext(TransactionContext):
    """A pooled transaction that leaves nothing behind when BEGIN, COMMIT or the release
    fails (see the module docstring for what tortoise's own leaves)."""

    def __init__(self, client: TransactionalDBClient, pool_init_lock: asyncio.Lock) -> None:
        self.client = client
        self.connection_name = client.connection_name
        self._pool_init_lock = pool_init_lock
        self.token: Any = None

    async def __aenter__(self) -> TransactionalDBClient:
        parent = self.client._parent
        try:
            if not parent._pool:
                async with self._pool_init_lock:  # one task creates the pool
                    if not parent._pool:
                        await parent.create_connection(with_db=True)
            self.client._connection = await parent._pool.acquire()
            self.client._connection.mark_used_in_transaction()
        except Exception as exc:
            unavailable = _unavailable(exc)
            if unavailable is None or unavailable is exc:
                raise
            raise unavailable from exc
        try:
            await self.client.begin()
        except BaseException:
            await _release(parent._pool, self.client._connection)
            raise
        # Only now does this task's code use the transaction's connection.
        self.token = get_connections().set(self.connection_name, self.client)
        return self.client

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        try:
            get_connections().reset(self.token)
        finally:
            try:
                await self._finish(exc_type)
            finally:
                await _release(self.client._parent._pool, self.client._connection)

    async def _finish(self, exc_type: Any) -> None:
        if self.client._finalized:
            return
        if exc_type is None:
            try:
                await self.client.commit()
            except Exception as exc:
                unavailable = _unavailable(exc)
                if unavailable is None or unavailable is exc:
                    raise
                raise unavailable from exc  # whether it committed is unknown: not "done"
            return
        try:
            await self.client.rollback()
        except Exception as exc:  # the body's error is the one to report
            # A cut connection rolled back on its own; on a live one, asyncpg's reset at
            # release rolls back what is still open.
            log.debug("rollback failed: %s", type(exc).__name__)


class SafeTransactionWrapper(_TranslatesFaults, TransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(SafeTransactionWrapper(self))


class SafeAsyncpgClient(_TranslatesFaults, AsyncpgDBClient):
    connection_class = _Connection

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.extra.setdefault("timeout", CONNECT_TIMEOUT)
        self.pool_maxsize += READERS  # the ORM and transactions keep the pool they had
        self._idle_readers: list[tuple[_Connection, float]] = []  # and when last used
        self._readers = 0  # connections kept for reads, idle or reading now
        self._closing = False

    async def read_at_once(self, query: str, values: list[Any]) -> list[Any] | None:
        """The rows of a SELECT outside a transaction, read on a kept connection (no pool
        round); None when none is free (the caller then takes the usual way)."""
        return await self._translate_exceptions(SafeAsyncpgClient._read, query, values)

    async def _read(self, query: str, values: list[Any]) -> list[Any] | None:
        pool = self._pool
        if pool is None or self._closing:  # not connected yet: the usual way connects
            return None
        connection = await self._idle_reader(pool)
        if connection is None:
            if self._readers >= READERS:
                return None
            self._readers += 1
            try:
                connection = await pool.acquire()
            except BaseException:
                self._readers -= 1
                raise
        try:
            found = await connection.fetch(query, *values)
        except BaseException:
            # A cut connection is dropped (the pool replaces it); a failed query leaves
            # nothing behind on a connection outside a transaction, but start afresh.
            self._readers -= 1
            await _release(pool, connection)
            raise
        if pool is self._pool and not self._closing:
            self._idle_readers.append((connection, time.monotonic()))
        else:  # the client is closing: its pool waits for every connection
            self._readers -= 1
            await _release(pool, connection)
        return found

    async def _idle_reader(self, pool: Any) -> _Connection | None:
        """A kept connection to read on; those cut meanwhile (a restart, a failover) or
        idle too long go back to the pool, which reconnects or retires them."""
        now = time.monotonic()
        while self._idle_readers:
            connection, since = self._idle_readers.pop()
            if now - since < READER_IDLE_SECONDS and _open(connection):
                return connection
            self._readers -= 1
            await _release(pool, connection)
        return None

    async def _close(self) -> None:
        # asyncpg's pool waits for every connection to come back before it closes: give
        # back the idle kept ones now, and a read still running gives its own back.
        self._closing = True
        try:
            readers, self._idle_readers = self._idle_readers, []
            self._readers -= len(readers)
            for connection, _ in readers:
                await _release(self._pool, connection)
            await super()._close()
        finally:
            self._closing = False

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        return await asyncpg.create_pool(None, reset=_reset_after_transaction, **kwargs)

    def acquire_connection(self) -> SafePoolConnection:  # type: ignore[override]
        return SafePoolConnection(self, self._pool_init_lock)

    def _in_transaction(self) -> TransactionContext:
        return SafeTransactionContext(SafeTransactionWrapper(self), self._pool_init_lock)


client_class = SafeAsyncpgClient


def get_client_class(db_info: dict) -> type[SafeAsyncpgClient]:
    return SafeAsyncpgClient
