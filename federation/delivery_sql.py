"""Hand-written SQL for the delivery worker's two hot statements: the claim, the outcomes.

A fan-out to 1,000 inboxes claims and writes back 1,000 rows in a second or two, and
the profiles of `tests/benchmarks/fanout.py` showed tortoise building queries and
turning rows into models costing the event loop more than the database did. Written
once for both backends: a claim is one `UPDATE … RETURNING` (on PostgreSQL its subquery
takes the rows `FOR UPDATE SKIP LOCKED`, so two workers never claim the same row), and
an outcome shared by many rows is one `UPDATE` for all of them. The rules stay where
they are: which rows are claimable (`node.leases.claimable_sql`, next to its ORM form),
the moves between statuses (`DELIVERY_GRAPH`, checked by `federation.delivery.apply`
before anything is written).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from tortoise import connections

from federation.delivery import OUTCOME_FIELDS
from node.leases import claimable_sql
from node.models import Delivery
from node.raw_sql import Dialect, as_datetime
from node.states import DeliveryStatus

# A claimed delivery is pending until its outcome is written. A literal, not a
# parameter: only then can SQLite use the partial index of the rows still to do
# (`deliveries_todo … WHERE status = 'pending'`).
CLAIMED = DeliveryStatus.PENDING
_CLAIMED_SQL = f"status = '{CLAIMED.value}'"


def _client() -> tuple[Any, Dialect]:
    client = connections.get("default")  # the current transaction's, inside one
    return client, Dialect(client.capabilities.dialect)


@lru_cache(maxsize=4)
def _claim_sql(dialect: Dialect) -> str:
    mark = dialect.mark
    lock = " FOR UPDATE SKIP LOCKED" if dialect.name == "postgres" else ""
    # Constants and placeholders only: every value is a parameter.
    return (
        f"UPDATE deliveries SET locked_until = {mark(1)} WHERE id IN ("  # noqa: S608
        f"SELECT id FROM deliveries WHERE {_CLAIMED_SQL} AND next_attempt_at <= {mark(2)}"
        f" AND {claimable_sql(mark(3))} ORDER BY next_attempt_at, id LIMIT {mark(4)}{lock}"
        ") RETURNING *"
    )


async def claim(limit: int, now: datetime, until: datetime) -> list[Delivery]:
    """Lease up to `limit` due deliveries until `until`, those due first first."""
    client, dialect = _client()
    now_stored = dialect.stored(now)
    rows = await client.execute_query_dict(
        _claim_sql(dialect), [dialect.stored(until), now_stored, now_stored, limit]
    )
    if dialect.name != "postgres":
        rows = [_parsed_times(row) for row in rows]
    # The same conversion tortoise applies to the rows of a query.
    claimed = [Delivery._init_from_db(**row) for row in rows]
    claimed.sort(key=lambda row: (row.next_attempt_at, row.id))  # RETURNING has no order
    return claimed


_TIMES = frozenset({"next_attempt_at", "locked_until", "created_at", "sent_at"})


def _parsed_times(row: dict[str, Any]) -> dict[str, Any]:
    """SQLite's timestamp text as datetimes: `fromisoformat` (C) takes 0.4 µs where the
    parser tortoise runs takes 20 µs, three times per claimed row."""
    for name in _TIMES & row.keys():
        with contextlib.suppress(ValueError):  # another form: tortoise parses it
            row[name] = as_datetime(row.get(name))
    return row


def _stored(dialect: Dialect, value: object) -> object:
    if isinstance(value, datetime):
        return dialect.stored(value)
    if isinstance(value, DeliveryStatus):
        return value.value
    return value


async def write_outcome(changes: dict[str, object], ids: Sequence[int]) -> int:
    """Write one outcome to the rows `ids` that are still claimed (a row an admin
    cancelled meanwhile stays cancelled); returns how many rows took it."""
    client, dialect = _client()
    names = [name for name in OUTCOME_FIELDS if name in changes]
    if len(names) != len(changes):  # column names go into the text: only ours
        raise ValueError(f"not an outcome field: {set(changes) - set(OUTCOME_FIELDS)}")
    sets = ", ".join(f"{name} = {dialect.mark(n)}" for n, name in enumerate(names, 1))
    mark = dialect.mark(len(names) + 1)
    chosen: object
    if dialect.name == "postgres":
        where, chosen = f"id = ANY({mark}::bigint[])", list(ids)
    else:  # one statement text whatever the number of rows, as ANY() is
        where = f"id IN (SELECT value FROM json_each({mark}))"  # noqa: S608
        chosen = orjson.dumps(list(ids)).decode()
    # Our column names and placeholders only: every value is a parameter.
    sql = f"UPDATE deliveries SET {sets} WHERE {_CLAIMED_SQL} AND {where}"  # noqa: S608
    values = [_stored(dialect, changes[name]) for name in names]
    count, _ = await client.execute_query(sql, [*values, chosen])
    return count
