"""Fixtures of the backup, restore and check tests (loaded with `pytest_plugins`):
databases of one backend, several per test, migrated (copied from a migrated template:
migrating takes seconds) or without tables; a node with a backup of it."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from node import db
from tests.backup_helpers import make_node
from tests.conftest import _pg_admin, _pg_url


@pytest.fixture(scope="session")
def postgres_template(postgres_database: str) -> Iterator[str]:
    """A migrated PostgreSQL database nobody connects to: new ones are copied from it
    (CREATE DATABASE ... TEMPLATE takes a moment; migrating takes seconds)."""
    name = f"{postgres_database.rsplit('/', 1)[1]}_tpl_{secrets.token_hex(3)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    asyncio.run(db.migrate(_pg_url(name)))
    yield name
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Makes databases of one backend, migrated and empty or without any table."""
    made: list[str] = []

    def make(migrated: bool = True) -> str:
        tag = secrets.token_hex(3)
        if request.param == "sqlite":
            path = tmp_path / f"db-{tag}.sqlite3"
            if migrated:
                shutil.copy(request.getfixturevalue("migrated_sqlite"), path)
            return f"sqlite://{path}"
        server = request.getfixturevalue("postgres_database")
        name = f"{server.rsplit('/', 1)[1]}_{tag}"
        template = request.getfixturevalue("postgres_template") if migrated else "template0"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        made.append(name)
        return _pg_url(name)

    yield make
    for name in made:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def node_with_backup(tmp_path: Path, new_database: Callable[..., str]) -> tuple[str, Path]:
    """An initialised node (admin els) and a backup of it."""
    url = new_database()
    asyncio.run(make_node(url, tmp_path / "node.tar.gz"))
    return url, tmp_path / "node.tar.gz"
