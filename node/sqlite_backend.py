"""Tortoise's SQLite backend, with write transactions that begin IMMEDIATE and that
leave nothing behind when they fail.

Several processes may share one SQLite file (`nabuur run --workers N`). A transaction
begun DEFERRED that reads and then writes can fail at once with "database is locked"
when another process writes meanwhile: SQLite cannot wait there without risking a
deadlock. Taking the write lock at BEGIN IMMEDIATE makes it wait (up to busy_timeout)
instead. Selected by `node.db.tortoise_config` for sqlite:// URLs.

Tortoise's `SqliteTransactionContext.__aenter__` (tortoise/backends/sqlite/client.py,
lines 193-198) takes the process-wide transaction lock and sets the task's connection
before BEGIN; when BEGIN fails (the lock wait ran out, the file is read-only, the disk
is full) `__aexit__` never runs, so the lock is never released and every later
transaction of the process waits for ever. And a COMMIT that fails leaves the
connection inside its transaction, so every later BEGIN fails. Here a failed BEGIN
releases what it took, and a failed COMMIT is rolled back.

Reads outside a transaction may also skip aiosqlite (`read_at_once`): its worker thread
costs ~60 µs of CPU per statement in hand-offs between threads, where the statements
behind a page take 1–400 µs in SQLite itself, so thirteen of them per page spent more on
the hand-offs than on the reads. A second, read-only connection per thread answers them
on the spot. In WAL mode a reader never waits for a writer, and it sees every committed
write (the main connection commits each statement outside a transaction). A read that
would wait for a lock or run long is handed to aiosqlite instead, and a file not in WAL
mode (a URL may set `journal_mode`) is always read through aiosqlite.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.connection import get_connections
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError

log = logging.getLogger("nabuur.db")

# A read on the event loop holds up every other request meanwhile. It never waits for a
# lock there (busy_timeout 0: a WAL reader only meets one during a recovery), and one
# that runs longer than this is interrupted; either way it goes through aiosqlite's
# thread instead, which waits and reads without holding up anyone. Page reads take
# 1-400 µs.
READ_ON_LOOP_SECONDS = 0.02
_CHECK_EVERY = 10_000  # SQLite VM steps between looks at the clock (tens of µs)
_FALL_BACK = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_INTERRUPT}


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


async def _roll_back(connection: Any) -> None:
    """End whatever transaction is open on `connection`; the caller reports the error."""
    try:
        await connection.rollback()
    except Exception as exc:  # nothing more can be done; the next BEGIN will say
        log.debug("rollback after a failed transaction failed: %s", type(exc).__name__)


class SafeTransactionContext(SqliteTransactionContext):
    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            await self.connection.begin()
        except BaseException:
            self._trxlock.release()
            raise
        self.token = get_connections().set(self.connection_name, self.connection)
        return self.connection

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        try:
            get_connections().reset(self.token)
            if self.connection._finalized:
                return
            if exc_type is not None:
                await _roll_back(self.connection._connection)
                self.connection._finalized = True
                return
            try:
                await self.connection.commit()
            except BaseException:
                await _roll_back(self.connection._connection)
                raise
        finally:
            self._trxlock.release()


class ImmediateSqliteClient(SqliteClient):
    def __init__(self, file_path: str, **kwargs: Any) -> None:
        super().__init__(file_path, **kwargs)
        self._reader = threading.local()  # one connection per thread that reads
        self._readers: list[sqlite3.Connection] = []
        # A second connection sees the same database only for a file in WAL mode without
        # an exclusive lock (a rollback journal makes readers wait for every writer).
        self._reads_at_once = (
            self.filename not in ("", ":memory:")
            and str(self.pragmas.get("journal_mode", "WAL")).upper() == "WAL"
            and str(self.pragmas.get("locking_mode", "NORMAL")).upper() != "EXCLUSIVE"
        )

    def _in_transaction(self) -> TransactionContext:
        return SafeTransactionContext(ImmediateTransactionWrapper(self), self._lock)

    async def read_at_once(self, query: str, values: Sequence[Any]) -> list[sqlite3.Row] | None:
        """The rows of a SELECT, read on the calling thread; None when that cannot be done
        at once (locked, too long, the client closed, a file not in WAL mode): the caller
        then reads through aiosqlite. Only for reads outside a transaction: a
        transaction's own writes are visible on its connection alone."""
        if self._connection is None or not self._reads_at_once:
            return None
        # Let the other ready tasks take their turn first, as a read through aiosqlite
        # does: a request that never yielded would hold up every other one for its whole
        # length, and a transaction in progress (holding the file's write lock) would
        # advance one long loop turn per statement (saturated p99 went 0.2 s -> 5 s).
        await asyncio.sleep(0)
        local = self._reader
        if getattr(local, "connection", None) is None:
            local.deadline = [0.0]
            local.connection = self._open_reader(local.deadline)
        local.deadline[0] = time.perf_counter() + READ_ON_LOOP_SECONDS
        try:
            return local.connection.execute(query, values).fetchall()
        except sqlite3.OperationalError as exc:
            # Extended codes (SQLITE_BUSY_RECOVERY...) carry the primary one in the low byte.
            if exc.sqlite_errorcode & 0xFF in _FALL_BACK:
                return None
            raise OperationalError(exc) from exc
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(exc) from exc

    def _open_reader(self, deadline: list[float]) -> sqlite3.Connection:
        # check_same_thread=False only so that close() may close it from another thread:
        # each connection is used by the thread that opened it alone.
        reader = sqlite3.connect(self.filename, isolation_level=None, check_same_thread=False)
        reader.row_factory = sqlite3.Row
        reader.execute("PRAGMA busy_timeout = 0")
        reader.execute("PRAGMA query_only = ON")  # a write sent here fails, loudly
        reader.set_progress_handler(lambda: time.perf_counter() > deadline[0], _CHECK_EVERY)
        self._readers.append(reader)
        return reader

    async def close(self) -> None:
        readers, self._readers, self._reader = self._readers, [], threading.local()
        for reader in readers:
            reader.close()
        await super().close()

    @translate_exceptions
    async def execute_many(self, query: str, values: list[list]) -> None:
        async with self.acquire_connection() as connection:
            await connection.execute("BEGIN IMMEDIATE")
            try:
                await connection.executemany(query, values)
                await connection.commit()
            except BaseException:
                await _roll_back(connection)
                raise


client_class = ImmediateSqliteClient


def get_client_class(db_info: dict) -> type[SqliteClient]:
    return ImmediateSqliteClient
