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
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from tortoise.backends.base.client import TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError

log = logging.getLogger("nabuur.db")


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
    def _in_transaction(self) -> TransactionContext:
        return SafeTransactionContext(ImmediateTransactionWrapper(self), self._lock)

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
