"""Hand-written SQL for the statements every reply from another server runs.

A node takes replies at ~1,000 a second on two cores, and profiles of that path showed
most of a statement's CPU time in tortoise building the query and converting rows, not
in the database. The statements here do what the ORM calls they replace did, written
once for both backends: `?` marks become `$1, $2, …` on PostgreSQL, and values are
passed in the form each backend's column holds (tortoise's text forms on SQLite). The
rules (who may offer, who hears of it) stay in the services that call these.
"""

from __future__ import annotations

import re
import uuid
from functools import lru_cache
from typing import Any

from tortoise import connections

_MARK = re.compile(r"\?")


def _is_postgres(client: Any) -> bool:
    return client.capabilities.dialect == "postgres"


@lru_cache(maxsize=64)
def _numbered(sql: str) -> str:
    counter = iter(range(1, 1000))
    return _MARK.sub(lambda _: f"${next(counter)}", sql)


def _values(params: list[object], postgres: bool) -> list[object]:
    """`params` as the columns hold them. SQLite keeps UUIDs as text; its timestamps are
    written by the adapter tortoise registers with `sqlite3` (the same text as the ORM's)."""
    if postgres:
        return params
    return [str(v) if isinstance(v, uuid.UUID) else v for v in params]


async def rows(sql: str, params: list[object]) -> list[dict[str, Any]]:
    """Run `sql` (with `?` marks) in the current transaction, if any; its rows by name.

    Also for `INSERT … RETURNING` (tortoise's `execute_query` drops an INSERT's rows on
    PostgreSQL)."""
    client = connections.get("default")
    postgres = _is_postgres(client)
    values = _values(params, postgres)
    return await client.execute_query_dict(_numbered(sql) if postgres else sql, values)


async def execute(sql: str, params: list[object]) -> None:
    """Run a statement that returns no rows (see `rows`)."""
    client = connections.get("default")
    postgres = _is_postgres(client)
    await client.execute_query(_numbered(sql) if postgres else sql, _values(params, postgres))
