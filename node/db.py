"""Database wiring: the tortoise configuration, opening and closing, and migrations.

SQLite is the default and needs nothing installed; PostgreSQL is used when the database
URL says so. The schema is owned by tortoise's migrations in `node/migrations/`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tortoise import Tortoise, connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.migrations.api import migrate as tortoise_migrate
from tortoise.migrations.executor import MigrationExecutor
from tortoise.transactions import in_transaction

from node import db_faults
from node.config import DEFAULT_DATABASE_URL

APP_LABEL = "nabuur"
log = logging.getLogger("nabuur.db")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite://")


def _tuned_url(url: str) -> str:
    """Add our SQLite pragmas unless the URL sets them.

    `synchronous=NORMAL` in WAL mode stays durable across a process crash and roughly
    doubles commit throughput; a power cut may lose the last commits, not corrupt data.
    """
    if not is_sqlite(url):
        return url
    # Not through urlsplit: it turns `sqlite:////abs/path` into `sqlite://abs/path`, a
    # relative path (and `nabuur init` then waited on a file that was never there).
    base, _, raw_query = url.partition("?")
    query = dict(parse_qsl(raw_query))
    query.setdefault("synchronous", "NORMAL")
    query.setdefault("busy_timeout", "5000")
    return f"{base}?{urlencode(query)}"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for PostgreSQL and in-memory databases."""
    if not is_sqlite(url):
        return None
    rest = url.removeprefix("sqlite://").split("?", 1)[0]
    return None if rest in ("", ":memory:") else Path(rest)


def _connection_config(url: str) -> str | dict[str, Any]:
    config = expand_db_url(_tuned_url(url))
    if is_sqlite(url):
        config["engine"] = "node.sqlite_backend"  # BEGIN IMMEDIATE: see that module
    elif config["engine"] == "tortoise.backends.asyncpg":
        config["engine"] = "node.postgres_backend"  # survives lost connections: see there
    return config


def tortoise_config(url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection_config(url)},
        "apps": {
            APP_LABEL: {
                "models": ["node.models"],
                "migrations": "node.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# For tortoise's own CLI when writing new migrations:
#   tortoise -c node.db.TORTOISE_ORM makemigrations
def _import_time_config() -> dict[str, Any]:
    # Every `nabuur` command imports this module: a malformed variable must not crash
    # them all here (even --help); the settings parser reports it in one line.
    try:
        return tortoise_config(os.environ.get("NABUUR_DATABASE_URL", DEFAULT_DATABASE_URL))
    except Exception:  # whatever tortoise's URL parser raises
        return tortoise_config(DEFAULT_DATABASE_URL)


TORTOISE_ORM = _import_time_config()


def _ensure_parent(url: str) -> None:
    """Create a new SQLite file's directory, and the file itself readable by its owner
    only: it holds the node's private keys and password hashes. SQLite gives its -wal
    and -shm files the mode of the database file. An existing file is left as it is."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


async def open_database(url: str) -> None:
    """Connect the ORM for this process (one database per process)."""
    _ensure_parent(url)
    # Tortoise caches prepared SQL per connection *name*, not per dialect: a process that
    # reopens "default" on another backend (the test suite does) would reuse `?` or `$1`
    # placeholders meant for the other one.
    EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


async def ping() -> None:
    """Raise if the database does not answer a trivial query."""
    await connections.get("default").execute_query("SELECT 1")


async def write_problem() -> str | None:
    """Why the open database cannot take writes, in plain words; None when it can.

    SQLite opens a file it may not write (its mode, a read-only disk) read-only without a
    word, and reads work: only a write tells, so rewrite the header's user_version with
    its own value. PostgreSQL says so itself (a standby, `default_transaction_read_only`).
    """
    connection = connections.get("default")
    try:
        if connection.capabilities.dialect == "sqlite":
            rows = await connection.execute_query_dict("PRAGMA user_version")
            await connection.execute_script(f"PRAGMA user_version = {int(rows[0]['user_version'])}")
            return None
        rows = await connection.execute_query_dict(
            "SELECT current_setting('transaction_read_only') AS read_only"
        )
        if rows[0]["read_only"] == "on":
            return f"cannot write to the database: {db_faults.READ_ONLY.sentence()}"
    except Exception as exc:
        fault = db_faults.fault_of(exc)
        if fault is None:
            raise
        return f"cannot write to the database: {fault.sentence()}"
    return None


def known_migrations() -> list[str]:
    """Names of this code's migrations, oldest first."""
    import pkgutil

    import node.migrations

    names = (info.name for info in pkgutil.iter_modules(node.migrations.__path__))
    return sorted(name for name in names if name[:4].isdigit() and name[4:5] == "_")


async def pending_migrations(url: str) -> list[str]:
    """Names of migrations not yet applied (the ORM must be open on `url`)."""
    executor = MigrationExecutor(connections.get("default"), tortoise_config(url)["apps"])
    plan = await executor.plan(None)
    return [step.migration.name for step in plan if not step.backward]


async def migrate(
    url: str, target: str | None = None, progress: Callable[[str], None] | None = None
) -> None:
    """Apply migrations up to `target` (a migration name; default: the latest).

    Opens and closes its own connection, so call it with the ORM closed.
    """
    _ensure_parent(url)

    def report(event: str, app_label: str, name: str) -> None:
        if progress is not None and event == "apply_done":
            progress(name)
        elif progress is not None and event == "rollback_done":
            progress(f"{name} (rolled back)")

    try:
        await tortoise_migrate(
            config=tortoise_config(url),
            target=f"{APP_LABEL}.{target}" if target else None,
            progress=report,
        )
    finally:
        await Tortoise.close_connections()


def atomic() -> contextlib.AbstractAsyncContextManager[object]:
    """A transaction, or nothing when the caller already holds one.

    Services are atomic on their own; called inside a bigger unit of work (the inbox
    worker's batch), they join it instead of paying for a savepoint each time.
    """
    if isinstance(connections.get("default"), TransactionalDBClient):
        return contextlib.nullcontext()
    return in_transaction()
