"""PostgreSQL's own tools for backups: `pg_dump` out, `pg_restore` piped into `psql` in.

The connection comes from the node's database URL, handed to the tools as libpq
variables (PGHOST, PGUSER, PGPASSWORD...): a password on a command line is visible to
every user of the machine in `ps`, and would end up in error messages.

A restore runs as one transaction: the old tables are dropped and the dump loaded in the
same `psql --single-transaction`, so a failure half-way leaves the database as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO
from urllib.parse import parse_qsl, unquote, urlsplit

# Drops what a Nabuur schema holds (views, tables with their sequences and indexes,
# stray sequences), leaving objects of extensions alone. Runs inside the restore's
# transaction, before the dump's own statements reset the search path.
DROP_SCHEMA_OBJECTS = """
DO $nabuur$
DECLARE item record;
BEGIN
  FOR item IN
    SELECT format('DROP VIEW IF EXISTS %I.%I CASCADE', schemaname, viewname) AS sql
    FROM pg_views WHERE schemaname = current_schema()
  LOOP EXECUTE item.sql; END LOOP;
  FOR item IN
    SELECT format('DROP TABLE IF EXISTS %I.%I CASCADE', n.nspname, c.relname) AS sql
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
  LOOP EXECUTE item.sql; END LOOP;
  FOR item IN
    SELECT format('DROP SEQUENCE IF EXISTS %I.%I CASCADE', n.nspname, c.relname) AS sql
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind = 'S'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
  LOOP EXECUTE item.sql; END LOOP;
END
$nabuur$;
"""


class ToolError(Exception):
    """A PostgreSQL tool is missing or failed; the message is safe to print."""


def libpq_environment(url: str) -> dict[str, str]:
    """This process's environment with the URL's connection as libpq variables.

    Other PG* variables are removed, so that a stray PGDATABASE or PGSERVICE in the
    operator's shell cannot point the tools at another database.
    """
    parts = urlsplit(url)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    values = {
        "PGHOST": parts.hostname,
        "PGPORT": str(parts.port) if parts.port else None,
        "PGUSER": unquote(parts.username) if parts.username else None,
        "PGPASSWORD": unquote(parts.password) if parts.password else None,
        "PGDATABASE": unquote(parts.path.lstrip("/")) or None,
    }
    query = dict(parse_qsl(parts.query))
    if query.get("ssl") in ("require", "true", "verify-full", "verify-ca"):
        values["PGSSLMODE"] = "require" if query["ssl"] == "true" else query["ssl"]
    environ.update({k: v for k, v in values.items() if v})
    environ["PGAPPNAME"] = "nabuur-backup"
    environ.setdefault("PGCONNECT_TIMEOUT", "10")
    return environ


def database_name(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ToolError(
            f"{name} is not installed: install the PostgreSQL client tools "
            "(Debian: apt install postgresql-client), of the server's version or newer"
        )
    return found


def _first_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    return (errors or lines or ["no message"])[0][:300]


async def dump(url: str, into: Path, snapshot: str | None = None) -> None:
    """`pg_dump --format=custom` of the URL's database into the file `into`.

    With `snapshot` (from `pg_export_snapshot()` in a transaction still open), the dump
    sees exactly what that transaction sees. Not compressed: the archive is gzipped.
    """
    command = [_tool("pg_dump"), "--format=custom", "--compress=0", f"--file={into}"]
    if snapshot:
        command.append(f"--snapshot={snapshot}")
    process = await asyncio.create_subprocess_exec(
        *command,
        env=libpq_environment(url),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        raise ToolError(f"pg_dump failed: {_first_error(stderr.decode(errors='replace'))}")


def _restore_sync(url: str, dump_file: Path) -> None:
    environ = libpq_environment(url)
    with tempfile.TemporaryFile() as restore_err, tempfile.TemporaryFile() as psql_err:
        # pg_restore turns the dump into SQL (owners and grants left out: the objects
        # belong to whoever restores); psql runs it after the drops, in one transaction.
        producer = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            [_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(dump_file)],
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=restore_err,
        )
        consumer = subprocess.Popen(  # noqa: S603
            [
                _tool("psql"),
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                "--file=-",
            ],
            env=environ,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_err,
        )
        assert producer.stdout is not None and consumer.stdin is not None
        try:
            consumer.stdin.write(DROP_SCHEMA_OBJECTS.encode())
            shutil.copyfileobj(producer.stdout, consumer.stdin, 1 << 20)
        except BrokenPipeError:
            pass  # psql stopped on an error: its message says which
        producer.stdout.close()
        restored = producer.wait()
        if consumer.poll() not in (None, 0):  # psql stopped first: its reason comes first
            raise ToolError(f"loading the dump failed: {_first_error(_read(psql_err))}")
        if restored != 0:
            # psql commits at the end of its input: stop it before it sees the end, so
            # the drops and half a dump roll back together.
            consumer.kill()
            consumer.wait()
            raise ToolError(f"pg_restore failed: {_first_error(_read(restore_err))}")
        with contextlib.suppress(BrokenPipeError):
            consumer.stdin.close()
        if consumer.wait() != 0:
            raise ToolError(f"loading the dump failed: {_first_error(_read(psql_err))}")


def _read(stream: IO[bytes]) -> str:
    stream.seek(0)
    return stream.read().decode(errors="replace")


async def other_sessions(url: str) -> int:
    """How many client sessions besides ours are connected to the URL's database."""
    import asyncpg  # only on PostgreSQL: a SQLite node never loads it

    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=10)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
        )
    finally:
        await connection.close()


async def restore(url: str, dump_file: Path) -> None:
    """Replace what the URL's database holds with the dump, in one transaction."""
    await asyncio.to_thread(_restore_sync, url, dump_file)
