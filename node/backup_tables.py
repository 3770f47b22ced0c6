"""Looking at a database by table name, whatever migration it is at: which tables exist,
how many rows each holds, which migrations were applied and which this code knows.

`node.db_inventory` reads the tables through this code's models; a backup being
restored, or a database being moved, may be a migration or two behind them, so these
helpers use plain SQL on names (checked against what the database itself lists).
"""

from __future__ import annotations

import re

from tortoise import connections

from node import db
from node.db import APP_LABEL

MIGRATIONS_TABLE = "tortoise_migrations"
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def backend_of(url: str) -> str:
    return "sqlite" if db.is_sqlite(url) else "postgresql"


code_migrations = db.known_migrations  # oldest first


async def existing_tables() -> set[str]:
    """Tables of the database the ORM is open on (its own catalogue aside)."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        rows = await conn.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        return {row["name"] for row in rows}
    rows = await conn.execute_query_dict(
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
    )
    return {row["name"] for row in rows}


async def count_rows(names: list[str]) -> dict[str, int]:
    """Rows of each named table, in the order given (the names must exist)."""
    conn = connections.get("default")
    counts = {}
    for name in names:
        if not _TABLE_NAME.match(name):  # names may come from an archive: never raw SQL
            raise ValueError(f"not a table name: {name!r}")
        rows = await conn.execute_query_dict(f'SELECT COUNT(*) AS n FROM "{name}"')  # noqa: S608
        counts[name] = int(rows[0]["n"])
    return counts


async def applied_migrations() -> list[str]:
    """Names of the migrations applied to the database, oldest first (none: no table)."""
    if MIGRATIONS_TABLE not in await existing_tables():
        return []
    conn = connections.get("default")
    rows = await conn.execute_query_dict(
        f"SELECT name FROM \"{MIGRATIONS_TABLE}\" WHERE app = '{APP_LABEL}'"  # noqa: S608
    )
    return sorted(row["name"] for row in rows)
