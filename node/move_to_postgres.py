"""`nabuur move-to-postgres URL`: copy a SQLite node into an empty PostgreSQL database.

What happens, in order; every refusal is one line and comes before anything is written:

1. The node's own database (NABUUR_DATABASE_URL or the settings file) must be a SQLite
   file, and URL must be a postgres:// URL.
2. The SQLite file is opened read-only (`mode=ro`) in one read transaction: every table
   is read from the same snapshot and the file is never written. Every migration of this
   code must be applied to it (else: run `nabuur migrate` first).
3. The target must answer, and no node table there may hold a row (the refusal names
   them). It is then migrated, so that its schema is this code's.
4. Every table is copied in foreign-key order (`node.db_inventory.tables()`), in batches,
   all in ONE transaction with the sequence reset: a failure, a Ctrl+C or a lost
   connection leaves the target with empty tables only, and running the command again
   is safe. If the node wrote to the SQLite file meanwhile (it was still running), the
   copy is rolled back and the command says so.
5. Sequences of integer primary keys continue after the largest id, so that new rows do
   not collide with copied ones.
6. After the commit it verifies that every table has as many rows as the source and that
   every actor's keys are the same: followers on other servers notice nothing.

Values go through tortoise's own conversions: read as the app reads them from SQLite
(`to_python_value`) and written as tortoise writes them to PostgreSQL (`to_db_value`, given
the model class so that no `auto_now` stamp replaces a copied date). Datetimes keep their
instant, JSON its value, and binary, booleans, decimals and UUIDs arrive exactly.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from tortoise import connections
from tortoise.exceptions import BaseORMException
from tortoise.fields import Field
from tortoise.models import Model
from tortoise.transactions import in_transaction

from node import db
from node.config import redact_url
from node.db_inventory import row_counts, self_referencing, tables
from node.move_sides import (
    MoveError,
    SourceSnapshot,
    check_source_url,
    check_target,
    check_target_url,
    quote,
)

__all__ = ["MoveError", "MoveReport", "move"]

BATCH_SIZE = 500
# (table, rows copied so far, rows in the table); called before the first batch too.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class MoveReport:
    source: Path
    target: str  # without its password
    rows: dict[str, int]  # per table, verified equal on both sides
    key_pairs: int  # local actors whose keys were compared
    sequences: int  # tables whose id sequence was set
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _quiet(table: str, done: int, total: int) -> None:
    """The default progress report: none."""


async def move(
    source_url: str,
    target_url: str,
    progress: Progress = _quiet,
    batch_size: int = BATCH_SIZE,
) -> MoveReport:
    """Copy the SQLite node at `source_url` into the empty PostgreSQL database at `target_url`.

    Raises MoveError (one line) when refused, undone or not verified.
    """
    started = time.monotonic()
    path = check_source_url(source_url)
    check_target_url(target_url)
    with SourceSnapshot(path) as source:
        source.check_migrated()
        # Opening tortoise does not connect yet; it makes the node's models known.
        await _schema_step("read", db.open_database(target_url), target_url)
        try:
            models = tables()
            await check_target(target_url, [m._meta.db_table for m in models])
        finally:
            await db.close_database()
        await _schema_step("migrate", db.migrate(target_url), target_url)
        await db.open_database(target_url)
        try:
            expected, keys, sequences = await _copy_all(source, models, progress, batch_size)
            key_pairs = await _verify(expected, keys, models)
        finally:
            await db.close_database()
    return MoveReport(
        source=path,
        target=redact_url(target_url),
        rows=expected,
        key_pairs=key_pairs,
        sequences=sequences,
        seconds=time.monotonic() - started,
    )


async def _schema_step(what: str, step: Awaitable[None], url: str) -> None:
    try:
        await step
    except (BaseORMException, asyncpg.PostgresError, OSError) as exc:
        raise MoveError(f"cannot {what} the database at {redact_url(url)}: {exc}") from None


# Each actor's key columns (`*_key_pem`), by (table, primary key): {column: PEM}.
KeyRows = dict[tuple[str, str], dict[str, str | None]]


def _key_columns(model: type[Model]) -> list[str]:
    return sorted(c for c in model._meta.fields_db_projection.values() if c.endswith("_key_pem"))


async def _copy_all(
    source: SourceSnapshot, models: list[type[Model]], progress: Progress, batch_size: int
) -> tuple[dict[str, int], KeyRows, int]:
    """Every table and the sequences, in one transaction; (rows, actor keys, sequences)."""
    copied: dict[str, int] = {}
    table = ""
    try:
        async with in_transaction() as target:
            for model in models:
                table = model._meta.db_table
                copied[table] = await _copy_table(source, target, model, progress, batch_size)
            table = ""
            keys = _source_keys(source, models)
            # Last, still inside the transaction: had the running node written to the file
            # since the snapshot began, the copy would miss it. Roll back rather than lose it.
            if source.finish():
                raise MoveError(
                    f"the node wrote to {source.path} during the move: stop `nabuur run` and "
                    "every `nabuur worker`, then run this again (nothing was copied)"
                )
            sequences = await _reset_sequences(target, models)
    except (
        BaseORMException,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        sqlite3.Error,
        OSError,
    ) as exc:
        where = f" while copying {table}" if table else ""
        raise MoveError(
            f"the move failed{where}: {exc}; nothing was copied (the target holds empty "
            "tables), so once the cause is fixed, run this again"
        ) from exc
    return copied, keys, sequences


def _convert(model: type[Model], columns: list[str], fields: list[Field], raw: tuple) -> list:
    """One SQLite row as tortoise would write it to PostgreSQL."""
    values: list[Any] = []
    for column, field, value in zip(columns, fields, raw, strict=True):
        if value is None:
            values.append(None)
            continue
        try:
            # The model class, not an instance: an `auto_now` field keeps the copied date.
            values.append(field.to_db_value(field.to_python_value(value), model))
        except (ValueError, TypeError, BaseORMException) as exc:
            raise MoveError(
                f"{model._meta.db_table}.{column} holds {str(value)[:60]!r}, which cannot be "
                f"copied ({exc}): nothing was copied"
            ) from None
    return values


async def _copy_table(
    source: SourceSnapshot,
    target: Any,
    model: type[Model],
    progress: Progress,
    batch_size: int,
) -> int:
    meta = model._meta
    names = list(meta.fields_db_projection)
    columns = [meta.fields_db_projection[name] for name in names]
    fields = [meta.fields_map[name] for name in names]
    pk_index = columns.index(meta.db_pk_column)
    # A row may point to a row of its own table that comes later: such columns are
    # written empty first and filled in once every row of the table is there.
    later = [columns.index(column) for column in self_referencing(model)]
    fill_in: list[tuple[Any, Any, int]] = []
    insert = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(map(quote, columns))}) "  # noqa: S608
        f"VALUES ({', '.join(f'${n}' for n in range(1, len(columns) + 1))})"
    )
    total = source.count(meta.db_table)
    progress(meta.db_table, 0, total)
    done = 0
    for raw_rows in source.rows(meta.db_table, columns, meta.db_pk_column, batch_size):
        batch = []
        for raw in raw_rows:
            values = _convert(model, columns, fields, raw)
            for index in later:
                if values[index] is not None:
                    fill_in.append((values[index], values[pk_index], index))
                    values[index] = None
            batch.append(values)
        await target.execute_many(insert, batch)
        done += len(batch)
        progress(meta.db_table, done, total)
    for value, pk, index in fill_in:
        await target.execute_query(
            f"UPDATE {quote(meta.db_table)} SET {quote(columns[index])} = $1 "  # noqa: S608
            f"WHERE {quote(meta.db_pk_column)} = $2",
            [value, pk],
        )
    return done


def _source_keys(source: SourceSnapshot, models: list[type[Model]]) -> KeyRows:
    found: KeyRows = {}
    for model in models:
        meta, pems = model._meta, _key_columns(model)
        if pems:
            for pk, *values in source.select(meta.db_table, [meta.db_pk_column, *pems]):
                found[(meta.db_table, str(pk))] = dict(zip(pems, values, strict=True))
    return found


async def _target_keys(models: list[type[Model]]) -> KeyRows:
    found: KeyRows = {}
    for model in models:
        meta, pems = model._meta, _key_columns(model)
        if pems:
            rows = await connections.get("default").execute_query_dict(
                f"SELECT {', '.join(map(quote, [meta.db_pk_column, *pems]))} "  # noqa: S608
                f"FROM {quote(meta.db_table)}"
            )
            for row in rows:
                found[(meta.db_table, str(row[meta.db_pk_column]))] = {c: row[c] for c in pems}
    return found


async def _reset_sequences(target: Any, models: list[type[Model]]) -> int:
    """Continue each integer id sequence after the largest copied id; returns how many."""
    reset = 0
    for model in models:
        meta = model._meta
        if not meta.pk.generated:  # UUIDs: made by the code, no sequence
            continue
        table, pk = quote(meta.db_table), quote(meta.db_pk_column)
        # On an empty table, setval(seq, 1, false): its first row still gets id 1.
        _, rows = await target.execute_query(
            f"SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX({pk}), 1), "  # noqa: S608
            f"MAX({pk}) IS NOT NULL) AS value FROM {table}",
            [table, meta.db_pk_column],
        )
        reset += rows[0]["value"] is not None
    return reset


async def _verify(expected: dict[str, int], keys: KeyRows, models: list[type[Model]]) -> int:
    """Compare what the target holds now with the source; returns the key pairs compared."""
    counted = await row_counts()
    wrong = [
        f"{table}: {rows} rows in SQLite, {counted.get(table)} here"
        for table, rows in expected.items()
        if counted.get(table) != rows
    ]
    stored = await _target_keys(models)
    actors = keys.keys() | stored.keys()
    differing = sorted({actor[0] for actor in actors if keys.get(actor) != stored.get(actor)})
    if differing:
        wrong.append(f"actor keys differ in {', '.join(differing)}")
    if wrong:
        raise MoveError(
            "the copy does not match the SQLite node (" + "; ".join(wrong) + "): do not use "
            "it; drop and recreate the PostgreSQL database, and report this as a bug"
        )
    return sum(1 for pems in keys.values() if pems.get("private_key_pem"))
