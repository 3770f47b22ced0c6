"""PostgreSQL reads outside a transaction go to connections the process keeps for them
(`node.postgres_backend.READERS`): they must give the same rows, never queue behind one
another, survive a cut connection with one clear error, and never hold up closing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from node import db, postgres_backend, raw_sql
from node.db_faults import DatabaseUnavailable
from node.postgres_backend import READERS
from tests import factories
from tests.conftest import _truncate_postgres
from tests.test_database_faults import cut_connections_while_busy


@pytest.fixture
async def postgres(migrated_postgres: str) -> AsyncIterator[str]:
    await db.open_database(migrated_postgres)
    await _truncate_postgres()
    try:
        yield migrated_postgres
    finally:
        await db.close_database()


def kept() -> int:
    return connections.get("default")._readers


async def names() -> list[str]:
    return [row[0] for row in await raw_sql.rows("SELECT slug FROM neighbourhoods", [])]


async def test_reads_at_once_beyond_the_kept_connections_all_answer(postgres: str) -> None:
    await factories.neighbourhood("kuregem")
    answers = await asyncio.gather(*(names() for _ in range(4 * READERS)))
    assert all("kuregem" in answer for answer in answers)
    assert kept() <= READERS
    # Inside a transaction a read uses the transaction's connection and sees its writes.
    client = connections.get("default")
    async with in_transaction():
        await factories.neighbourhood("jette")
        assert "jette" in await names()
        assert client._readers <= READERS


async def test_a_cut_reader_gives_one_clear_error_then_reads_go_on(postgres: str) -> None:
    await factories.neighbourhood("kuregem")
    await asyncio.gather(*(names() for _ in range(READERS)))  # the kept ones exist
    cut_connections_while_busy(postgres)
    failures = 0
    for _ in range(READERS + 3):
        try:
            assert "kuregem" in await names()
        except DatabaseUnavailable:  # what pages answer 503 for, with Retry-After
            failures += 1
    # The first read finds its connection cut; the others, already known to be closed,
    # are dropped unused. New ones serve from then on.
    assert failures == 1
    assert "kuregem" in await names()


async def test_closing_does_not_wait_for_the_kept_connections(postgres: str) -> None:
    await asyncio.gather(*(names() for _ in range(READERS)))
    assert kept() == READERS
    loop = asyncio.get_running_loop()
    started = loop.time()
    await db.close_database()
    # asyncpg's pool waits for every connection to come back (10 s, then terminates).
    assert loop.time() - started < 5
    await db.open_database(postgres)
    assert await names() == []  # a fresh client reads again


async def test_closing_while_a_read_runs_waits_for_that_read_only(postgres: str) -> None:
    await names()
    loop = asyncio.get_running_loop()
    slow = asyncio.create_task(raw_sql.rows("SELECT pg_sleep(0.5)", []))
    await asyncio.sleep(0.1)
    started = loop.time()
    await db.close_database()
    await slow  # it finished, and gave its connection back to the closing pool
    assert loop.time() - started < 3
    await db.open_database(postgres)


async def test_a_kept_connection_idle_too_long_goes_back_to_the_pool(
    postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def backend() -> int:
        [(pid,)] = await raw_sql.rows("SELECT pg_backend_pid()", [])
        return pid

    given_back = []
    release = postgres_backend._release

    async def counted(pool: object, connection: object) -> None:
        given_back.append(connection)
        await release(pool, connection)

    monkeypatch.setattr(postgres_backend, "_release", counted)
    first = await backend()
    assert await backend() == first  # kept, and used again
    assert given_back == []
    monkeypatch.setattr(postgres_backend, "READER_IDLE_SECONDS", 0.0)
    assert await backend() > 0  # the kept one was idle "too long": given back first
    assert len(given_back) == 1 and kept() == 1
