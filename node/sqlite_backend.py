"""Tortoise's SQLite backend, with write transactions that begin IMMEDIATE.

Several processes may share one SQLite file (`nabuur run --workers N`). A transaction
begun DEFERRED that reads and then writes can fail at once with "database is locked"
when another process writes meanwhile: SQLite cannot wait there without risking a
deadlock. Taking the write lock at BEGIN IMMEDIATE makes it wait (up to busy_timeout)
instead. Selected by `node.db.tortoise_config` for sqlite:// URLs.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)

    @translate_exceptions
    async def execute_many(self, query: str, values: list[list]) -> None:
        async with self.acquire_connection() as connection:
            await connection.execute("BEGIN IMMEDIATE")
            try:
                await connection.executemany(query, values)
            except Exception:
                await connection.rollback()
                raise
            else:
                await connection.commit()


client_class = ImmediateSqliteClient


def get_client_class(db_info: dict) -> type[SqliteClient]:
    return ImmediateSqliteClient
