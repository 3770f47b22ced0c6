"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL is the server on 127.0.0.1:5432 (override with NABUUR_TEST_POSTGRES). Each
test run creates its own database and drops it at the end. Where it cannot be reached
the PostgreSQL half is skipped on a laptop, and fails under CI=true.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from tortoise import connections

from node import db

pytest_plugins = ["tests.federation_fixtures", "tests.smtp_server"]

PG_ADMIN_URL = os.environ.get("NABUUR_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ("sqlite", "postgres")


def _pg_url(dbname: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test run."""
    name = f"nabuur_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {exc}"
        if IN_CI:
            pytest.fail(message + " (CI=true: the PostgreSQL tests must run)", pytrace=False)
        pytest.skip(message)
    yield _pg_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied; tests get copies of it."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    asyncio.run(db.migrate(f"sqlite://{path}"))
    return path


@pytest.fixture(scope="session")
def migrated_postgres(postgres_database: str) -> str:
    asyncio.run(db.migrate(postgres_database))
    return postgres_database


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a migrated, empty database on each backend."""
    if request.param == "postgres":
        return request.getfixturevalue("migrated_postgres")
    template = request.getfixturevalue("migrated_sqlite")
    copy = tmp_path / "nabuur.sqlite3"
    shutil.copy(template, copy)
    return f"sqlite://{copy}"


async def _truncate_postgres() -> None:
    conn = connections.get("default")
    rows = await conn.execute_query_dict(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        " AND tablename <> 'tortoise_migrations'"
    )
    quoted = ", ".join(f'"{row["tablename"]}"' for row in rows)
    await conn.execute_script(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[str]:
    """The ORM open on an empty migrated database; yields its URL."""
    await db.open_database(database_url)
    if not db.is_sqlite(database_url):
        await _truncate_postgres()
    try:
        yield database_url
    finally:
        await db.close_database()


_backend_counts: Counter[str] = Counter()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        for backend in BACKENDS:
            if f"[{backend}" in report.nodeid or f"-{backend}]" in report.nodeid:
                _backend_counts[backend] += 1


_summary_lines: list[str] = []


def report_in_summary(config: pytest.Config, line: str) -> None:
    """Print `line` (a figure a test module measured) in the run's final summary. Under
    pytest-xdist (`make test`) a worker's own output is not shown: its lines travel to the
    controller with the worker's results (`workeroutput`)."""
    worker_output = getattr(config, "workeroutput", None)
    if worker_output is not None:
        worker_output.setdefault("summary_lines", []).append(line)
    else:
        _summary_lines.append(line)


def pytest_testnodedown(node: object, error: object) -> None:
    """pytest-xdist, in the controller: a worker finished; keep its summary lines."""
    _summary_lines.extend(getattr(node, "workeroutput", {}).get("summary_lines", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in _summary_lines:
        terminalreporter.write_line(line)
    if _backend_counts:
        figures = ", ".join(f"{_backend_counts[b]} on {b}" for b in BACKENDS)
        terminalreporter.write_line(f"storage tests passed: {figures}")


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (a SQLite file that does not exist yet)."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'fresh.sqlite3'}"
        return
    server = request.getfixturevalue("postgres_database")
    name = f"{server.rsplit('/', 1)[1]}_{secrets.token_hex(3)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_KEY_POOL: list[tuple[str, str]] = []


@pytest.fixture(autouse=True)
def reuse_test_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Actors in in-process tests share a few RSA keys: generating one takes ~50 ms.

    Real node processes started by the multi-node tests generate their own.
    """
    from node import keys

    if not _KEY_POOL:
        _KEY_POOL.extend(keys.generate_key_pair_sync() for _ in range(4))
    counter = iter(range(1 << 30))

    async def pooled() -> tuple[str, str]:
        return _KEY_POOL[next(counter) % len(_KEY_POOL)]

    monkeypatch.setattr(keys, "generate_key_pair", pooled)
