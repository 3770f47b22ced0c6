"""`nabuur backup` and `nabuur restore`: the whole node in one archive, and back.

Everything a node is lives in its database: accounts, posts, the actors' key pairs, the
node's secret key, uploaded images. A backup is a consistent copy of it (SQLite's online
backup API, or `pg_dump` inside one snapshot), the settings file when there is one, a
list of the actors' public keys, and a manifest with the row counts taken *from that
same copy* (so they match the archive even while the node keeps running).

A restore checks the whole archive before touching anything, refuses to replace a
database that holds rows unless forced, replaces it in one step (a file rename on SQLite,
one transaction on PostgreSQL), then recounts the rows and compares the keys.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from node import __version__, backup_pg, db, db_inventory, key_inventory
from node.backup_archive import FORMAT, FORMAT_VERSION, ArchiveError, write_archive
from node.backup_tables import (
    MIGRATIONS_TABLE,
    applied_migrations,
    backend_of,
    code_migrations,
    count_rows,
    existing_tables,
)
from node.config import Settings
from node.timeutil import utcnow

Say = Callable[[str], None]
KEYS_NOTE = (
    "The node's secret key and every actor's private key are inside the database "
    "(tables node_settings, accounts, neighbourhoods, organisations); keys.json lists "
    "the public keys only, for checking."
)


class BackupError(Exception):
    """A backup could not be made; nothing was written at the archive's path."""


def human_size(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _sqlite_copy(source: Path, copy: Path) -> None:
    """A consistent copy of a live SQLite database, as one self-contained file.

    The backup API reads a snapshot: with WAL, the node keeps writing meanwhile.
    """
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)
        # One file (no -wal beside it) that any sqlite3 opens as it is.
        dst.execute("PRAGMA journal_mode=DELETE")
        verdict = dst.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        dst.close()
        src.close()
    if verdict != "ok":
        raise BackupError(f"the database {source} is damaged ({verdict}): not backed up")


async def _facts(settings: Settings) -> dict[str, Any]:
    """Row counts, migration and keys of the database the ORM is open on."""
    tables = await existing_tables()
    if MIGRATIONS_TABLE not in tables:
        raise BackupError("this database has no Nabuur tables: nothing to back up")
    applied = await applied_migrations()
    if set(code_migrations()) <= set(applied):
        counts = await db_inventory.row_counts()
    else:  # behind this code: count the tables that exist, by name
        names = [m._meta.db_table for m in db_inventory.tables()]
        counts = await count_rows([name for name in names if name in tables])
    return {
        "migration": applied[-1] if applied else None,
        "row_counts": counts,
        "keys": await key_inventory.export(settings),
    }


async def _snapshot_sqlite(settings: Settings, into: Path) -> dict[str, Any]:
    source = db.sqlite_path(settings.database_url)
    if source is None:
        raise BackupError("an in-memory database cannot be backed up")
    if not source.is_file():
        raise BackupError(f"there is no database at {source}: nothing to back up")
    await asyncio.to_thread(_sqlite_copy, source, into)
    # Counted on the copy itself: the same rows as the archive, whatever the node does.
    await db.open_database(f"sqlite://{into}?journal_mode=DELETE")
    try:
        return await _facts(settings)
    finally:
        await db.close_database()


async def _snapshot_postgres(settings: Settings, into: Path) -> dict[str, Any]:
    await db.open_database(settings.database_url)
    try:
        async with in_transaction() as conn:
            # One snapshot for the counts, the keys and pg_dump: they describe the same rows.
            await conn.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            rows = await conn.execute_query_dict("SELECT pg_export_snapshot() AS snapshot")
            facts = await _facts(settings)
            try:
                await backup_pg.dump(settings.database_url, into, snapshot=rows[0]["snapshot"])
            except backup_pg.ToolError as exc:
                raise BackupError(str(exc)) from None
        return facts
    finally:
        await db.close_database()


def _check_paths(target: Path, force: bool, settings_file: str | None) -> Path | None:
    """Refuse what would fail later, before any work; the settings file to include."""
    if target.is_dir():  # first: --force would not help
        raise BackupError(f"{target} is a folder: give the archive's file name")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists: choose another path or add --force")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    if not settings_file:
        return None
    found = Path(settings_file)
    if not found.is_file():
        raise BackupError(f"the settings file {settings_file} cannot be read")
    return found


async def backup(
    settings: Settings,
    target: Path,
    *,
    force: bool = False,
    settings_file: str | None = None,
    say: Say = print,
) -> dict[str, Any]:
    """Write the node's archive to `target`; return its manifest (with the size)."""
    started = time.monotonic()
    config = _check_paths(target, force, settings_file)
    backend = backend_of(settings.database_url)
    # Beside the archive (not /tmp, often small or in memory), readable by us only.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".nabuur-backup-") as work:
        folder = Path(work)
        if backend == "sqlite":
            say(f"Copying the SQLite database {db.sqlite_path(settings.database_url)} ...")
            database = folder / "database.sqlite3"
            facts = await _snapshot_sqlite(settings, database)
        else:
            name = backup_pg.database_name(settings.database_url)
            say(f"Dumping the PostgreSQL database {name!r} with pg_dump ...")
            database = folder / "database.pgdump"
            facts = await _snapshot_postgres(settings, database)
        rows = sum(facts["row_counts"].values())
        say(
            f"  database: {len(facts['row_counts'])} tables, {rows} rows, "
            f"{human_size(database.stat().st_size)}"
        )
        keys_file = folder / "keys.json"
        keys_file.write_text(json.dumps(facts["keys"], indent=2) + "\n", encoding="utf-8")
        count = len(facts["keys"])
        say(f"  keys.json: public keys of {count} actor(s); the private keys are in the database")
        members = {database.name: database, keys_file.name: keys_file}
        if config is not None:
            members["settings.toml"] = config
            say(f"  settings.toml: {config}")
        if (settings.source_of("secret_key") or "").startswith("NABUUR_"):
            say(
                "  note: NABUUR_SECRET_KEY comes from the environment and is not in this "
                "archive: keep a copy of it with the backup (log-in sessions are signed with it)"
            )
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "nabuur_version": __version__,
            "created_at": utcnow().isoformat(timespec="seconds"),
            "backend": backend,
            "migration": facts["migration"],
            "public_url": settings.public_url,
            "row_counts": facts["row_counts"],
            "actor_keys": len(facts["keys"]),
            "keys": KEYS_NOTE,
            "settings_file": str(config) if config else None,
            # Names only: values (a database password, a secret key) stay out of here.
            "settings_from_environment": sorted(
                source for source in settings.sources.values() if source.startswith("NABUUR_")
            ),
        }
        try:
            size = write_archive(target, manifest, members, force=force)
        except ArchiveError as exc:
            raise BackupError(str(exc)) from None
    elapsed = time.monotonic() - started
    say(
        f"Backup written to {target}: {human_size(size)}, {len(facts['row_counts'])} tables, "
        f"{rows} rows, {len(facts['keys'])} actor keys, migration {facts['migration']}, "
        f"in {elapsed:.2f} s."
    )
    return {**manifest, "bytes": size}
