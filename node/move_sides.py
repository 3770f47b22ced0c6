"""The two sides of `nabuur move-to-postgres`: the SQLite source, read-only, and the
PostgreSQL target, checked reachable and empty before anything is written to it.

Each check raises MoveError with one line that says what to do; `node.move_to_postgres`
runs them in order and does the copy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode

import asyncpg
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import ConfigurationError

from node import db
from node.config import redact_url

POSTGRES_SCHEMES = ("postgres", "postgresql")
CONNECT_TIMEOUT = 10  # seconds: a firewalled host should not hang the command for minutes
MIGRATIONS_TABLE = "tortoise_migrations"


class MoveError(Exception):
    """Why the move was refused or undone, in one line."""


def quote(identifier: str) -> str:
    """A table or column name for SQL (ours, from the models; quoted all the same)."""
    return '"' + identifier.replace('"', '""') + '"'


# --- the source ---------------------------------------------------------------------------


def check_source_url(url: str) -> Path:
    """The SQLite file the node's settings name; refuses anything else."""
    if not db.is_sqlite(url):
        raise MoveError(
            f"this node's database is not SQLite ({redact_url(url)}): there is nothing to move; "
            "set NABUUR_DATABASE_URL to the sqlite:// URL of the node to move"
        )
    path = db.sqlite_path(url)
    if path is None or not path.is_file():
        raise MoveError(f"no SQLite database at {path or url}: check NABUUR_DATABASE_URL")
    return path


class SourceSnapshot:
    """The SQLite file opened read-only (`mode=ro`), every read in one transaction.

    SQLite may create its empty `-wal` and `-shm` companions next to a WAL database to
    read it, but never writes the database file itself.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._version = 0

    def __enter__(self) -> SourceSnapshot:
        try:
            self._conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=CONNECT_TIMEOUT,
                isolation_level=None,  # we say where the read transaction begins and ends
            )
            self._conn.execute("BEGIN")
            # The snapshot starts at the first read; data_version then names it.
            self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            self._version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error as exc:
            self.close()
            raise MoveError(f"cannot read {self.path} as a SQLite database: {exc}") from None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def conn(self) -> sqlite3.Connection:
        assert self._conn is not None, "use SourceSnapshot as a context manager"
        return self._conn

    def check_migrated(self) -> None:
        """Refuse a file that is not a Nabuur database, or not at this code's schema."""
        try:
            applied = {
                name
                for (name,) in self.conn.execute(
                    f"SELECT name FROM {MIGRATIONS_TABLE} WHERE app = ?",  # noqa: S608
                    (db.APP_LABEL,),
                )
            }
        except sqlite3.OperationalError:  # no such table
            raise MoveError(f"{self.path} holds no Nabuur node (no migrations table)") from None
        known = set(db.known_migrations())
        if applied - known:
            newer = ", ".join(sorted(applied - known))
            raise MoveError(
                f"{self.path} was migrated by a newer Nabuur ({newer}): upgrade this one first"
            )
        if known - applied:
            raise MoveError(
                f"{self.path} needs {len(known - applied)} migration(s): run `nabuur migrate` first"
            )

    def count(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()[0])  # noqa: S608

    def select(self, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
        sql = f"SELECT {', '.join(map(quote, columns))} FROM {quote(table)}"  # noqa: S608
        return self.conn.execute(sql).fetchall()

    def rows(
        self, table: str, columns: list[str], order_by: str, batch_size: int
    ) -> Iterator[list[tuple[Any, ...]]]:
        """The table's raw rows in primary-key order, `batch_size` at a time."""
        cursor = self.conn.execute(
            f"SELECT {', '.join(map(quote, columns))} FROM {quote(table)} "  # noqa: S608
            f"ORDER BY {quote(order_by)}"
        )
        while batch := cursor.fetchmany(batch_size):
            yield batch

    def finish(self) -> bool:
        """End the snapshot; True when another connection committed to the file meanwhile."""
        self.conn.execute("COMMIT")
        return bool(self.conn.execute("PRAGMA data_version").fetchone()[0] != self._version)


# --- the target ---------------------------------------------------------------------------


def check_target_url(url: str) -> None:
    """Refuse what is not a PostgreSQL URL naming its database (parsed as tortoise will)."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in POSTGRES_SCHEMES:
        raise MoveError(
            f"{redact_url(url)!r} is not a PostgreSQL URL: give postgres://USER@HOST:PORT/DATABASE"
        )
    try:
        credentials = expand_db_url(url)["credentials"]
    except (ConfigurationError, ValueError) as exc:
        raise MoveError(f"{redact_url(url)!r} is not a usable PostgreSQL URL: {exc}") from None
    # Without a name, PostgreSQL picks a database after the user's name: not what was meant.
    if not credentials.get("database"):
        raise MoveError(
            f"{redact_url(url)!r} names no database: give postgres://USER@HOST:PORT/DATABASE"
        )


# Options of tortoise's pool, not of PostgreSQL: asyncpg would send them as settings.
TORTOISE_OPTIONS = frozenset(
    {"minsize", "maxsize", "max_queries", "max_inactive_connection_lifetime", "schema"}
)


async def _connect(url: str) -> asyncpg.Connection:
    """A connection to the database tortoise will use for `url` (the same defaults: both
    end in asyncpg), in the schema the node will use."""
    base, _, query = url.partition("?")
    options = parse_qsl(query)
    schema = dict(options).get("schema")
    libpq = urlencode([(k, v) for k, v in options if k not in TORTOISE_OPTIONS])
    settings = {"search_path": schema} if schema else None
    try:
        return await asyncpg.connect(
            f"{base}?{libpq}" if libpq else base,
            timeout=CONNECT_TIMEOUT,
            server_settings=settings,
        )
    except asyncpg.InvalidCatalogNameError:
        raise MoveError(
            f"the database of {redact_url(url)} does not exist: create it empty first "
            "(createdb --owner USER NAME), then run this again"
        ) from None
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
        raise MoveError(f"PostgreSQL at {redact_url(url)} refused the login: {exc}") from None
    except (asyncpg.InterfaceError, ValueError) as exc:  # a URL asyncpg cannot parse
        raise MoveError(f"{redact_url(url)!r} is not a usable PostgreSQL URL: {exc}") from None
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        reason = str(exc) or type(exc).__name__
        raise MoveError(f"cannot reach PostgreSQL at {redact_url(url)}: {reason}") from None


async def check_target(url: str, tables: list[str]) -> None:
    """Refuse a target that cannot be reached, or that holds rows in a node table."""
    conn = await _connect(url)
    try:
        filled = []
        for table in tables:
            if await conn.fetchval("SELECT to_regclass($1)", quote(table)) is None:
                continue
            rows = await conn.fetchval(f"SELECT count(*) FROM {quote(table)}")  # noqa: S608
            if rows:
                filled.append(f"{table}: {rows}")
        if filled:
            raise MoveError(
                f"the database at {redact_url(url)} is not empty (rows in {', '.join(filled)}): "
                "move-to-postgres fills only an empty database; drop and recreate it "
                "(dropdb NAME; createdb --owner USER NAME), or give another one"
            )
        if await conn.fetchval("SELECT to_regclass($1)", MIGRATIONS_TABLE) is not None:
            applied = await conn.fetch(
                f"SELECT name FROM {MIGRATIONS_TABLE} WHERE app = $1",  # noqa: S608
                db.APP_LABEL,
            )
            newer = {row["name"] for row in applied} - set(db.known_migrations())
            if newer:
                raise MoveError(
                    f"the database at {redact_url(url)} was migrated by a newer Nabuur "
                    f"({', '.join(sorted(newer))}): give an empty database"
                )
    except asyncpg.PostgresError as exc:
        raise MoveError(f"cannot read the database at {redact_url(url)}: {exc}") from None
    finally:
        await conn.close()
