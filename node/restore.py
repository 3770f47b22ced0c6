"""`nabuur restore`: put a node back from its backup archive, or change nothing.

In order, stopping at the first problem with one plain sentence:
1. the archive is read whole and every member checked against the manifest;
2. the backup's database kind must be the settings' (SQLite into SQLite, PostgreSQL into
   PostgreSQL; moving between them is `nabuur move-to-postgres`);
3. the backup's migration must be one this code knows (a backup from a newer Nabuur
   needs that Nabuur); an older one is restored and `nabuur migrate` is suggested;
4. no node may be running on the target (SQLite: the queue lock; PostgreSQL: no other
   session connected), even with `--force`; the database must hold no rows, unless
   `--force` (it names the tables);
5. the database is replaced in one step: an atomic rename of the SQLite file, or one
   PostgreSQL transaction that drops the old tables and loads the dump;
6. the rows are counted again and the actors' keys compared with the backup's.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from node import backup_pg, db, key_inventory
from node.backup import BackupError, Say
from node.backup_archive import ArchiveError, read_archive
from node.backup_tables import (
    MIGRATIONS_TABLE,
    backend_of,
    code_migrations,
    count_rows,
    existing_tables,
)
from node.config import Settings
from node.scheduler import QueueLock

MOVE_HINT = (
    "to move a SQLite node to PostgreSQL, restore it into a SQLite file, then run "
    "`nabuur move-to-postgres URL`"
)


async def target_rows(url: str) -> dict[str, int]:
    """Tables of the database at `url` that hold rows (migration records aside)."""
    path = db.sqlite_path(url)
    if path is not None and not path.exists():
        return {}
    await db.open_database(url)
    try:
        tables = await existing_tables()
        counts = await count_rows(sorted(tables - {MIGRATIONS_TABLE}))
    finally:
        await db.close_database()
    return {name: n for name, n in counts.items() if n}


def _check_backend(manifest: dict[str, Any], url: str) -> None:
    made, here = manifest.get("backend"), backend_of(url)
    if made == here:
        return
    if made == "sqlite":
        raise BackupError(
            "this is a backup of a SQLite node and the settings point to PostgreSQL: " + MOVE_HINT
        )
    raise BackupError(
        f"this is a backup of a {made} node and the settings point to a SQLite file: "
        "restore it into PostgreSQL (set NABUUR_DATABASE_URL to a postgres:// database)"
    )


def migration_advice(migration: str | None) -> str | None:
    """What to do about the backup's schema, or None when it is this code's."""
    known = code_migrations()
    if migration == known[-1]:
        return None
    if migration not in known:
        raise BackupError(
            f"this backup's database is at migration {migration!r}, which this Nabuur does "
            "not know: it was made by a newer Nabuur; install that version (or newer), "
            "then restore"
        )
    behind = len(known) - known.index(migration) - 1
    return (
        f"the restored database is {behind} migration(s) behind this Nabuur: "
        "run `nabuur migrate` before `nabuur run`"
    )


def _install_sqlite(copy: Path, target: Path) -> None:
    """Put `copy` at `target` in one rename; the old file's journal goes with it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        # Fold the old write-ahead log into its file: a log left beside the new file
        # would be replayed into it.
        old = sqlite3.connect(target, timeout=30)
        try:
            old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            old.close()
    staged = target.with_name(f".{target.name}.restoring-{os.getpid()}")
    try:
        shutil.move(copy, staged)  # a rename when on the same file system
        with staged.open("rb") as stream:
            os.fsync(stream.fileno())
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm", "-journal"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def _verify(url: str, manifest: dict[str, Any], keys: list[dict[str, Any]]) -> list[str]:
    """Differences between the restored database and the manifest (empty: none)."""
    await db.open_database(url)
    try:
        expected: dict[str, int] = manifest.get("row_counts") or {}
        tables = await existing_tables()
        missing = sorted(set(expected) - tables)
        counts = await count_rows([name for name in expected if name in tables])
        problems = [f"table {name} is missing" for name in missing]
        problems += [
            f"{name} has {counts[name]} rows, the backup {n}"
            for name, n in expected.items()
            if name in counts and counts[name] != n
        ]
        return problems + await key_inventory.compare(keys)
    finally:
        await db.close_database()


async def _refuse_if_in_use(url: str) -> None:
    # A running node's processes would keep writing into the tables being replaced (and
    # hold locks the restore waits on): like the SQLite lock, this refuses even --force.
    try:
        sessions = await backup_pg.other_sessions(url)
    except Exception:
        return  # cannot ask: target_rows below says what is wrong with the database
    if sessions:
        raise BackupError(
            f"{sessions} other session(s) are connected to the database "
            f"{backup_pg.database_name(url)!r}: a node is running on it; stop the node's "
            "processes (nabuur run, nabuur worker), then restore"
        )


def _work_folder(url: str) -> str | None:
    # Beside the SQLite file (the rename stays on one file system), else the default.
    path = db.sqlite_path(url)
    return str(path.parent) if path is not None and path.parent.is_dir() else None


def _read(archive: Path, folder: Path) -> dict[str, Any]:
    try:
        return read_archive(archive, folder)
    except ArchiveError as exc:
        raise BackupError(str(exc)) from None


async def restore(
    settings: Settings, archive: Path, *, force: bool = False, say: Say = print
) -> dict[str, Any]:
    """Restore the archive into the settings' database; return what was restored."""
    started = time.monotonic()
    url = settings.database_url
    with tempfile.TemporaryDirectory(dir=_work_folder(url), prefix=".nabuur-restore-") as work:
        folder = Path(work)
        manifest = await asyncio.to_thread(_read, archive, folder)
        counts: dict[str, int] = manifest.get("row_counts") or {}
        say(
            f"Checked {archive}: made {manifest.get('created_at')} by Nabuur "
            f"{manifest.get('nabuur_version')} ({manifest.get('backend')}, migration "
            f"{manifest.get('migration')}, {sum(counts.values())} rows); every checksum matches."
        )
        _check_backend(manifest, url)
        advice = migration_advice(manifest.get("migration"))
        lock = QueueLock(url)  # on SQLite, held by a running node's workers
        # (No folder yet: no node runs there. Release is a no-op when not acquired.)
        if lock.path is not None and lock.path.parent.is_dir() and not lock.acquire():
            raise BackupError("a node is running on this database: stop it, then restore")
        try:
            if manifest["backend"] != "sqlite":
                await _refuse_if_in_use(url)
            occupied = await target_rows(url)
            if occupied and not force:
                shown = ", ".join(f"{name} ({n})" for name, n in sorted(occupied.items())[:6])
                more = f" and {len(occupied) - 6} more" if len(occupied) > 6 else ""
                raise BackupError(
                    f"the target database is not empty: {shown}{more} hold rows; "
                    "nothing was changed (add --force to replace it)"
                )
            if occupied:
                say(f"Replacing a database that held rows in {len(occupied)} tables (--force).")
            if manifest["backend"] == "sqlite":
                target = db.sqlite_path(url)
                if target is None:
                    raise BackupError("cannot restore into an in-memory database")
                say(f"Restoring into the SQLite file {target} ...")
                await asyncio.to_thread(_install_sqlite, folder / "database.sqlite3", target)
            else:
                say(f"Restoring into {backup_pg.database_name(url)!r} with pg_restore ...")
                try:
                    await backup_pg.restore(url, folder / "database.pgdump")
                except backup_pg.ToolError as exc:
                    raise BackupError(f"{exc}; the database was left as it was") from None
        finally:
            lock.release()
        keys = json.loads((folder / "keys.json").read_text(encoding="utf-8"))
    problems = await _verify(url, manifest, keys)
    if problems:
        raise BackupError("restored, but it differs from the backup: " + "; ".join(problems[:5]))
    elapsed = time.monotonic() - started
    say(
        f"Restored {len(counts)} tables, {sum(counts.values())} rows and {len(keys)} actor keys, "
        f"all as in the backup, in {elapsed:.2f} s."
    )
    for note in _notes(settings, manifest, advice):
        say(note)
    return {**manifest, "verified_keys": len(keys)}


def _notes(settings: Settings, manifest: dict[str, Any], advice: str | None) -> list[str]:
    notes = [f"Note: {advice}."] if advice else []
    made_at = manifest.get("public_url")
    if made_at and made_at != settings.public_url:
        notes.append(
            f"Note: the backup's actors live at {made_at}, but these settings serve "
            f"{settings.public_url}: set NABUUR_BASE_URL={made_at}, or other servers will "
            "not find them."
        )
    if manifest.get("settings_file"):
        notes.append(
            f"The backup also holds the settings file it was made with "
            f"({manifest['settings_file']}); take it out with: tar -xzf ARCHIVE settings.toml"
        )
    return notes
