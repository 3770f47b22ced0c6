"""Hand-written SQL on both backends: what differs between SQLite and PostgreSQL, how a
statement runs in the current transaction, and how its rows become model instances.

Most of the code goes through tortoise. The hot paths (a page rendered fresh, a reply
from another server, a delivery claimed) do not: profiles of them put most of a
statement's CPU time in tortoise building the query (pypika copies and formats every
query anew) and converting rows (ISO dates parsed by `iso8601`), not in the database.
Their statements are written once with `?` marks, which become `$1, $2, …` on
PostgreSQL; their rows become the same instances tortoise builds (`Shape`). The rules
(who sees what, states, permissions) stay in the services that run them.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from functools import cache, cached_property
from typing import Any, Generic, TypeVar

from tortoise import connections
from tortoise.fields import DatetimeField
from tortoise.models import Model

M = TypeVar("M", bound=Model)
_MARK = re.compile(r"\?")


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str

    def month(self, column: str) -> str:
        """`YYYY-MM` of a timestamp, in UTC."""
        if self.name == "postgres":
            return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"
        # strftime() reads the stored text with its offset: a time written with another
        # zone than UTC still falls in its UTC month (the text's first characters would not).
        return f"strftime('%Y-%m', {column})"

    def seconds(self, later: str, earlier: str) -> str:
        """Seconds from `earlier` to `later`, rounded to whole ones (NULL when either is)."""
        if self.name == "postgres":
            return f"CAST(ROUND(EXTRACT(EPOCH FROM ({later} - {earlier}))) AS BIGINT)"
        # julianday() is the cheapest parse SQLite has; a double of days keeps the
        # difference to about 50 microseconds, which rounding to seconds absorbs.
        return f"CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400) AS INTEGER)"

    def mark(self, number: int) -> str:
        """The placeholder of the `number`th parameter (from 1)."""
        return f"${number}" if self.name == "postgres" else "?"

    def stored(self, moment: datetime) -> object:
        """`moment` as a column of ours holds it (tortoise's own text form on SQLite)."""
        if self.name == "postgres":
            return moment
        return moment.astimezone(UTC).isoformat(sep=" ")

    def timestamp(self, moment: datetime) -> object:
        # SQLite keeps timestamps as UTC text ("2026-01-01 00:00:00.123456+00:00"), which
        # sorts like time; this prefix of it sorts just before the instant it names.
        if self.name == "postgres":
            return moment
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def dialect() -> Dialect:
    return Dialect(connections.get("default").capabilities.dialect)


def text_dates() -> bool:
    """Whether rows come from SQLite, whose timestamps are text, else PostgreSQL."""
    return connections.get("default").capabilities.dialect != "postgres"


@cache
def numbered(sql: str) -> str:
    """`?` marks as PostgreSQL's `$1, $2, …` (no statement here has a `?` in a literal)."""
    counter = iter(range(1, 10_000))
    return _MARK.sub(lambda _: f"${next(counter)}", sql)


_COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def where(lookups: Mapping[str, object], aliases: Mapping[str, str]) -> tuple[str, list[object]]:
    """Tortoise-style lookups (all must hold) as a condition and its parameters, so that a
    rule written once as lookups serves `Q(**lookups)` and hand-written statements alike.

    Keys are `column`, `column__in` (a non-empty list), `column__gt` (`gte`, `lt`, `lte`)
    or `relation__column`; `aliases` names the table of each relation ("" for the main
    one). None means IS NULL.
    """
    parts, params = [], []
    for key, value in lookups.items():
        names = key.split("__")
        operator = names.pop() if names[-1] == "in" or names[-1] in _COMPARISONS else ""
        column = f"{aliases[names[0] if len(names) == 2 else '']}.{names[-1]}"
        if operator == "in":
            values = list(value)  # type: ignore[call-overload]
            parts.append(f"{column} IN ({', '.join('?' * len(values))})")
            params += values
        elif operator:
            parts.append(f"{column} {_COMPARISONS[operator]} ?")
            params.append(value)
        elif value is None:
            parts.append(f"{column} IS NULL")
        else:
            parts.append(f"{column} = ?")
            params.append(value)
    return " AND ".join(parts) or "1 = 1", params


def as_datetime(value: datetime | str | None) -> datetime | None:
    """A timestamp column's value as a datetime (SQLite's are tortoise's text form, which
    `fromisoformat`, in C, reads ~20x faster than the `iso8601` parser tortoise runs)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _prepared(sql: str, params: Sequence[object]) -> tuple[Any, str, list[object]]:
    # The current transaction's connection, inside one. SQLite keeps UUIDs as text; its
    # timestamps are written by the adapter tortoise registers (the ORM's own text).
    # Enum members go as their values (neither driver takes a StrEnum as text).
    client = connections.get("default")
    values = [v.value if isinstance(v, Enum) else v for v in params]
    if client.capabilities.dialect == "postgres":
        return client, numbered(sql), values
    return client, sql, [str(v) if isinstance(v, uuid.UUID) else v for v in values]


async def _read_at_once(client: Any, text: str, values: list[object]) -> list[Any] | None:
    # Outside a transaction a SELECT skips the ORM client's per-statement machinery: on
    # SQLite it is read on the spot (`sqlite_backend`), on PostgreSQL on a connection kept
    # for reads (`postgres_backend`). None: a transaction's connection, a write, or no
    # such connection free now.
    read = getattr(client, "read_at_once", None)
    if read is None or text.lstrip()[:6].upper() != "SELECT":
        return None
    return await read(text, values)


async def rows(sql: str, params: Sequence[object]) -> list[Any]:
    """Run `sql` (with `?` marks); its rows, read by position (joined tables may share
    column names)."""
    client, text, values = _prepared(sql, params)
    found = await _read_at_once(client, text, values)
    if found is None:
        _, found = await client.execute_query(text, values)
    return list(found)


async def named_rows(sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
    """Run `sql` (with `?` marks); its rows by column name. Also for `INSERT … RETURNING`
    (tortoise's `execute_query` drops an INSERT's rows on PostgreSQL)."""
    client, text, values = _prepared(sql, params)
    found = await _read_at_once(client, text, values)
    if found is None:
        return await client.execute_query_dict(text, values)
    return [dict(row) for row in found]


async def execute(sql: str, params: Sequence[object]) -> None:
    """Run a statement that returns no rows."""
    client, text, values = _prepared(sql, params)
    await client.execute_query(text, values)


def _insert_sql(model: type[Model], values: dict[str, object]) -> str:
    columns = ", ".join(values)
    marks = ", ".join("?" * len(values))
    return f"INSERT INTO {model._meta.db_table} ({columns}) VALUES ({marks})"  # noqa: S608


# Rows of `insert_row` waiting for the end of `deferred_inserts`, by table and columns.
_DEFERRED: ContextVar[dict[tuple[type[Model], tuple[str, ...]], list[list[object]]] | None] = (
    ContextVar("deferred_inserts", default=None)
)


async def insert_row(model: type[Model], values: dict[str, object]) -> None:
    """`insert` for a caller that needs no instance back (building one costs as much
    as the statement). Inside `deferred_inserts` the row waits for its end."""
    pending = _DEFERRED.get()
    if pending is not None:
        pending.setdefault((model, tuple(values)), []).append(list(values.values()))
        return
    await execute(_insert_sql(model, values), list(values.values()))


@contextlib.asynccontextmanager
async def deferred_inserts() -> AsyncIterator[None]:
    """Within: `insert_row`'s rows (notifications, events) are written at the end, one
    multi-row INSERT per table, in the caller's transaction, or earlier at
    `flush_deferred`. For a unit of work that writes many and reads none of them back
    (the inbox worker's batch of replies: three round trips to the database per reply
    became one). Nothing is written when the body raises: the caller's transaction is
    rolled back anyway."""
    pending: dict[tuple[type[Model], tuple[str, ...]], list[list[object]]] = {}
    token = _DEFERRED.set(pending)
    try:
        yield
    finally:
        _DEFERRED.reset(token)
    await _write(pending)


async def flush_deferred() -> None:
    """Write what `deferred_inserts` holds so far (before work that deletes rows they
    refer to: a reply deleted in the batch that notified about it)."""
    pending = _DEFERRED.get()
    if pending:
        await _write(pending)
        pending.clear()


async def _write(pending: dict[tuple[type[Model], tuple[str, ...]], list[list[object]]]) -> None:
    # Tables in the order their first row came: a row never precedes what it refers to.
    for (model, columns), rows_ in pending.items():
        for start in range(0, len(rows_), 500):  # well under both drivers' parameter caps
            batch = rows_[start : start + 500]
            marks = ", ".join("(" + ", ".join("?" * len(columns)) + ")" for _ in batch)
            statement = f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) VALUES {marks}"  # noqa: S608
            await execute(statement, [value for row in batch for value in row])


async def insert(model: type[M], values: dict[str, object]) -> M:
    """One row of `model` from `values` (every column, by name; without "id" the
    database gives one), as the instance `model.create` would return."""
    sql = _insert_sql(model, values)
    if "id" in values:
        await execute(sql, list(values.values()))
        return model._init_from_db(**values)
    [row] = await named_rows(sql + " RETURNING id", list(values.values()))
    return model._init_from_db(id=row["id"], **values)


class Shape(Generic[M]):
    """Columns of `model` selected under `alias`, and how a row's slice of them becomes
    an instance. `columns` None: all of them (a full instance, as tortoise reads one);
    else only those (a partial one, which tortoise will not save without update_fields).
    Worked out on first use: tortoise completes the models' fields at `Tortoise.init`."""

    def __init__(self, model: type[M], alias: str, columns: Sequence[str] | None = None) -> None:
        self.model, self.alias, self.wanted = model, alias, columns

    @cached_property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.wanted or sorted(self.model._meta.db_fields))

    @cached_property
    def width(self) -> int:
        return len(self.columns)

    @cached_property
    def dates(self) -> tuple[int, ...]:
        meta = self.model._meta
        by_column = {
            meta.fields_db_projection.get(name, name): field
            for name, field in meta.fields_map.items()
        }
        return tuple(
            i
            for i, column in enumerate(self.columns)
            if isinstance(by_column[column], DatetimeField)
        )

    @cached_property
    def sql(self) -> str:
        return ", ".join(f'{self.alias}."{column}"' for column in self.columns)

    def build(self, row: Sequence[Any], start: int, text_dates: bool) -> M:
        values = [row[i] for i in range(start, start + self.width)]  # Row/Record: no slices
        if text_dates:  # SQLite: tortoise's text form; fromisoformat is ~20x iso8601's speed
            for i in self.dates:
                values[i] = as_datetime(values[i])
        # The same conversion tortoise applies to the rows of its own queries.
        return self.model._init_from_db(**dict(zip(self.columns, values, strict=True)))


@cache
def _table_shape(model: type[Model]) -> Shape:
    return Shape(model, "t")


async def select(
    model: type[M],
    lookups: Mapping[str, object],
    *,
    order_by: Sequence[str] = (),
    limit: int | None = None,
) -> list[M]:
    """`model.filter(**lookups).order_by(*order_by).limit(limit)` of one table, as the
    instances tortoise would return, without building the query anew each time (the
    reads every fresh page makes; columns in `lookups` and `order_by` by name, "-" for
    descending)."""
    condition, params = where(lookups, {"": "t"})
    order = ", ".join(
        f"t.{name[1:]} DESC" if name.startswith("-") else f"t.{name}" for name in order_by
    )
    return await select_where(model, condition, params, order=order, limit=limit)


async def select_where(
    model: type[M],
    condition: str,
    params: Sequence[object],
    *,
    order: str = "",
    limit: int | None = None,
) -> list[M]:
    """Rows of `model`'s table (alias `t`) that meet `condition` (SQL with `?` marks), in
    `order` (SQL), as tortoise's instances: for a condition lookups cannot say (an OR)."""
    shape = _table_shape(model)
    statement = f"SELECT {shape.sql} FROM {model._meta.db_table} t WHERE {condition}"  # noqa: S608
    values = list(params)
    if order:
        statement += f" ORDER BY {order}"
    if limit is not None:
        statement += " LIMIT ?"
        values.append(limit)
    text = text_dates()
    return [shape.build(row, 0, text) for row in await rows(statement, values)]
