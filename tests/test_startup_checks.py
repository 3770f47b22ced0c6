"""What `nabuur run`, `worker`, `migrate` and `init` say about a database they cannot use:
one plain line each (issue 12's production trial), never a traceback or a wrong reason."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest
from tortoise import connections

from node import db, readiness
from node.app import NotReady, check_ready
from node.config import load_settings
from tests.conftest import _pg_admin, _pg_url
from tests.test_cli import assert_one_line_error, init_node, nabuur

pytestmark = pytest.mark.slow

FUTURE = "0012_future"


def _unusable_urls(server: str) -> list[str]:
    return [
        "postgres://u@127.0.0.1:5499/x",  # nothing listens there
        server.rsplit("/", 1)[0] + "/no_such_database_h12",
        _pg_url("postgres").replace("postgres@", "no_such_role_h12@", 1),
    ]


def test_worker_says_what_run_says_when_the_database_cannot_be_reached(
    tmp_path: Path, postgres_database: str
) -> None:
    for url in _unusable_urls(postgres_database):
        ran = nabuur("run", cwd=tmp_path, database=url)
        worked = nabuur("worker", cwd=tmp_path, database=url)
        assert_one_line_error(worked, "cannot reach the database")
        assert worked.stderr == ran.stderr, url


async def _record_future_migration(url: str) -> None:
    await db.open_database(url)
    try:
        await connections.get("default").execute_script(
            "INSERT INTO tortoise_migrations (app, name, applied_at) "
            f"SELECT app, '{FUTURE}', applied_at FROM tortoise_migrations LIMIT 1"
        )
    finally:
        await db.close_database()


async def _readiness(url: str) -> tuple[str, dict[str, str]]:
    settings = load_settings({"NABUUR_DATABASE_URL": url})
    await db.open_database(url)
    try:
        with pytest.raises(NotReady) as refused:
            await check_ready(settings)
        return str(refused.value), await readiness.check(settings)
    finally:
        await db.close_database()


def test_a_database_upgraded_by_a_newer_nabuur_is_refused(
    tmp_path: Path, empty_database_url: str
) -> None:
    url = empty_database_url
    init_node(tmp_path, url)
    asyncio.run(_record_future_migration(url))
    words = ("newer Nabuur", FUTURE, "restore the backup")
    message, checks = asyncio.run(_readiness(url))
    assert all(word in message for word in words), message
    assert all(word in checks["migrations"] for word in words), checks
    assert not readiness.is_ready(checks)
    for command in ("migrate", "worker", "run"):
        assert_one_line_error(nabuur(command, cwd=tmp_path, database=url), *words)


@pytest.mark.parametrize("bad", ["", "postgres//x", "sqlite:", "x://[", "postgres://h:99x/db"])
def test_a_malformed_database_url_is_one_settings_line(tmp_path: Path, bad: str) -> None:
    helped = nabuur("--help", cwd=tmp_path, NABUUR_DATABASE_URL=bad)
    assert helped.returncode == 0, helped.stderr
    assert_one_line_error(
        nabuur("check", cwd=tmp_path, NABUUR_DATABASE_URL=bad), "NABUUR_DATABASE_URL"
    )


def test_a_backup_to_a_forbidden_place_names_the_file_not_the_database(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'nabuur.sqlite3'}"
    init_node(tmp_path, url)
    result = nabuur("backup", "/sys/h12-trial.tar.gz", cwd=tmp_path, database=url)
    assert_one_line_error(result, "/sys/", "not permitted")
    assert "database" not in result.stderr


def test_migrate_without_the_right_to_create_tables_says_what_to_do(
    tmp_path: Path, postgres_database: str
) -> None:
    name = f"{postgres_database.rsplit('/', 1)[1]}_owned"
    role = f"trial_{os.getpid()}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" OWNER postgres'))
    asyncio.run(_pg_admin(f'CREATE ROLE "{role}" LOGIN'))
    try:
        url = _pg_url(name).replace("postgres@", f"{role}@", 1)
        for args in (("migrate",), ("init", "--admin-username", "els")):
            result = nabuur(*args, cwd=tmp_path, database=url, NABUUR_ADMIN_PASSWORD="x" * 20)
            assert_one_line_error(
                result, "permission denied", f"ALTER DATABASE {name} OWNER TO {role}"
            )
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_pg_admin(f'DROP ROLE IF EXISTS "{role}"'))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nabuur.sqlite3"
    init_node(tmp_path, f"sqlite://{path}")
    made = [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))]
    assert {p.name: _mode(p) for p in made if p.exists()} == dict.fromkeys(
        [p.name for p in made if p.exists()], 0o600
    )
    assert path.exists()


def test_an_existing_sqlite_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    path.touch()
    path.chmod(0o640)
    asyncio.run(db.migrate(f"sqlite://{path}"))
    assert _mode(path) == 0o640
