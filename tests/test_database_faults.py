"""A database connection that is cut: every long-running loop recovers by itself.

Cutting is done as PostgreSQL restarts, failovers and pooler resets do it: the server
ends the node's backends (`pg_terminate_backend`, from a separate admin connection).
The dangerous moment is when the node's event loop is busy and has not yet read the
server's goodbye: the pool then hands out a dead connection as open, and BEGIN fails on
it. `cut_connections_while_busy` reproduces that moment on purpose by blocking the
event loop while the backends are terminated. Tortoise's own transaction context left
the task bound to that dead connection for good (see node/postgres_backend.py), and its
SQLite one left the process-wide transaction lock taken (node/sqlite_backend.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import logging
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.transactions import in_transaction

from federation.inbox_store import InboxWriter, Received
from node import db
from node.db_faults import DatabaseUnavailable
from node.models import InboxItem
from node.postgres_backend import SafeTransactionWrapper
from node.scheduler import Job, Scheduler
from tests.conftest import _pg_admin, _pg_url
from tests.nodes import free_port

ROOT = Path(__file__).resolve().parent.parent


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def terminate_sql(name: str) -> str:
    return (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )


def cut_connections_while_busy(url: str) -> None:
    """Terminate the database's backends while this event loop is blocked (busy).

    The admin connection runs in a thread with its own loop; ours does not run until the
    backends are gone, so its pooled connections still look open when it wakes up.
    """
    done = threading.Thread(
        target=asyncio.run, args=(_pg_admin(terminate_sql(database_name(url))),)
    )
    done.start()
    done.join()
    time.sleep(0.3)  # the backends exit


async def count_inbox() -> int:
    async with in_transaction():
        return await InboxItem.all().count()


@pytest.fixture
async def postgres(migrated_postgres: str) -> AsyncIterator[str]:
    await db.open_database(migrated_postgres)
    try:
        yield migrated_postgres
    finally:
        await db.close_database()


async def test_a_begin_on_a_cut_connection_leaves_the_task_usable(postgres: str) -> None:
    assert await count_inbox() >= 0  # a pooled connection, idle and open
    cut_connections_while_busy(postgres)
    with pytest.raises(DatabaseUnavailable):
        await count_inbox()  # BEGIN on the dead connection: a clear, classified error
    # The task is not left inside a transaction on the released connection...
    assert not isinstance(connections.get("default"), TransactionalDBClient)
    # ...so the next transactions and queries simply work, on new connections.
    for _ in range(8):  # more than the pool holds: no connection was leaked either
        assert await count_inbox() >= 0
    assert await InboxItem.all().count() >= 0


async def test_a_commit_survives_a_cut_before_the_release(
    postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server cuts the connection just after COMMIT, before the pool's reset."""
    committed = SafeTransactionWrapper.commit

    async def commit_then_cut(self: SafeTransactionWrapper) -> None:
        await committed(self)
        cut_connections_while_busy(postgres)

    await InboxItem.filter(activity_id="https://remote.test/a/1").delete()
    monkeypatch.setattr(SafeTransactionWrapper, "commit", commit_then_cut)
    async with in_transaction():  # no error: the work is committed
        await InboxItem.create(
            activity_id="https://remote.test/a/1",
            activity_type="Like",
            actor_uri="https://remote.test/u",
            payload={},
        )
    monkeypatch.undo()
    assert not isinstance(connections.get("default"), TransactionalDBClient)
    assert await InboxItem.filter(activity_id="https://remote.test/a/1").count() == 1
    assert await count_inbox() >= 1


@pytest.fixture
def sqlite_file(migrated_sqlite: Path, tmp_path: Path) -> Path:
    path = tmp_path / "node.sqlite3"
    shutil.copy(migrated_sqlite, path)
    return path


async def test_a_failed_begin_immediate_does_not_lock_out_the_process(sqlite_file: Path) -> None:
    path = sqlite_file
    await db.open_database(f"sqlite://{path}?busy_timeout=100")
    try:
        go = asyncio.Event()

        async def a_request_waiting_meanwhile() -> int:
            await go.wait()
            return await count_inbox()

        waiting = asyncio.create_task(a_request_waiting_meanwhile())
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock too long
        try:
            with pytest.raises(Exception, match="locked"):
                await count_inbox()
        finally:
            other.execute("ROLLBACK")
            other.close()
        go.set()
        # Before, the transaction lock stayed taken and every other task waited for ever.
        assert await asyncio.wait_for(waiting, 5) == 0
        assert await asyncio.wait_for(count_inbox(), 5) == 0
    finally:
        await db.close_database()


async def test_the_inbox_writer_recovers_and_never_acknowledges_a_lost_row(
    postgres: str, caplog: pytest.LogCaptureFixture
) -> None:
    writer = InboxWriter()
    writer.start()
    caplog.set_level(logging.INFO, logger="nabuur.inbox")

    def item(n: int) -> Received:
        return Received(f"https://remote.test/w/{n}", "Like", "https://remote.test/u", {})

    try:
        await InboxItem.filter(activity_id__startswith="https://remote.test/w/").delete()
        await writer.store(item(1))
        cut_connections_while_busy(postgres)
        outcomes = await asyncio.gather(
            *(writer.store(item(n)) for n in range(2, 6)), return_exceptions=True
        )
        await writer.store(item(6))  # the same writer task, without a restart
    finally:
        await writer.stop()
    stored = set(
        await InboxItem.filter(activity_id__startswith="https://remote.test/w/").values_list(
            "activity_id", flat=True
        )
    )
    acknowledged = {
        item(n).activity_id for n, o in zip(range(2, 6), outcomes, strict=True) if o is None
    }
    assert acknowledged <= stored  # what was answered 202 is there
    assert {item(1).activity_id, item(6).activity_id} <= stored
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert failures, "the cut connection was not noticed"
    assert all(isinstance(o, DatabaseUnavailable) for o in failures), failures
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) <= 1 and all(r.exc_info is None for r in errors)


async def test_the_scheduler_recovers_and_logs_the_streak_once(
    postgres: str, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[int] = []

    async def tick() -> int:
        runs.append(await count_inbox())
        return 0

    scheduler = Scheduler([Job("tick", 0.05, tick)])
    caplog.set_level(logging.INFO, logger="nabuur.jobs")
    scheduler.start()
    try:
        for _ in range(100):
            if len(runs) >= 3:
                break
            await asyncio.sleep(0.05)
        for _ in range(3):
            cut_connections_while_busy(postgres)
            await asyncio.sleep(0.2)
        before = len(runs)
        await asyncio.sleep(1.0)
        assert len(runs) > before + 5, "the job did not run again after the cuts"
    finally:
        await scheduler.stop()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors, "the failures were not reported"
    assert len(errors) <= 3, [r.getMessage() for r in errors]  # once per streak
    assert all(r.exc_info is None for r in errors), "a traceback for a known fault"
    assert "cut" in errors[0].getMessage()
    assert any("works again" in r.getMessage() for r in caplog.records)


# --- a real `nabuur worker` process -------------------------------------------------


@pytest.fixture
def own_postgres(postgres_database: str) -> Iterator[str]:
    """A database of this test's own: cutting its connections touches nothing else."""
    name = f"{database_name(postgres_database)}_f{secrets.token_hex(3)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def node_environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NABUUR_")}
    return env | {
        "PYTHONPATH": str(ROOT),
        "NABUUR_DATABASE_URL": url,
        "NABUUR_ADMIN_PASSWORD": "correct horse battery",
        "NABUUR_LOG_LEVEL": "WARNING",
    }


async def on_database(url: str, sql: str) -> int:
    """Run `sql` on a connection of its own (a kept one would be cut with the node's)."""
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://"), timeout=5)
    try:
        if sql.lstrip().upper().startswith("SELECT"):
            return int(await connection.fetchval(sql))
        await connection.execute(sql)
        return 0
    finally:
        await connection.close()


def add_items(url: str, prefix: str, count: int) -> str:
    # Senders nobody knows: each is handled (rejected) at once, without network.
    return (
        "INSERT INTO inbox_items (activity_id, activity_type, actor_uri, payload, status,"
        " attempts, outcome, received_at) SELECT"
        f" 'https://gone.test/{prefix}/' || n, 'Like', 'https://gone.test/u/' || n,"
        f" '{{}}'::jsonb, 'pending', 0, '', now() FROM generate_series(1, {count}) AS n"
    )


async def waiting(url: str, prefix: str = "") -> int:
    return await on_database(
        url,
        "SELECT count(*) FROM inbox_items WHERE status IN ('pending', 'retry')"
        f" AND activity_id LIKE 'https://gone.test/{prefix}%'",
    )


async def handled_within(url: str, prefix: str, seconds: float) -> float:
    started = time.monotonic()
    while await waiting(url, prefix):
        assert time.monotonic() - started < seconds, f"items {prefix} still waiting"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


CUTS = 10  # one while idle, the others while busy: each may hit a BEGIN


@pytest.mark.slow
async def test_a_worker_process_recovers_from_cut_connections(
    own_postgres: str, tmp_path: Path
) -> None:
    url, env = own_postgres, node_environment(own_postgres)
    init = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "node.cli", "init", "--admin-username", "admin"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "node.cli", "worker"),
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    cut = terminate_sql(database_name(url))
    try:
        await on_database(url, add_items(url, "warm", 20))
        await handled_within(url, "warm/", 20)

        await _pg_admin(cut)  # idle: the worker waits for work
        await on_database(url, add_items(url, "after-idle-cut", 20))
        await handled_within(url, "after-idle-cut/", 5)

        await on_database(url, add_items(url, "load", 3000))
        for _ in range(1000):
            if await waiting(url, "load/") < 2500:  # the worker is busy with them
                break
            await asyncio.sleep(0.02)
        for _ in range(CUTS - 1):  # cut in the middle of batches, again and again
            await _pg_admin(cut)
            await asyncio.sleep(0.1)
        await on_database(url, add_items(url, "after-busy-cut", 20))
        # Items claimed when the connection was cut wait for their lease; the rest, and
        # everything that comes later, are handled at once.
        await handled_within(url, "after-busy-cut/", 20)
        assert worker.returncode is None, "the worker stopped"
    finally:
        worker.send_signal(signal.SIGTERM)
        await asyncio.wait_for(worker.wait(), 20)
    # One report per failure streak of each loop (inbox, deliveries, events), not per try.
    text = log_path.read_text(errors="replace")
    errors = re.findall(r"^\S+ \S+ ERROR (.*)$", text, flags=re.MULTILINE)
    assert len(errors) <= 3 * CUTS, errors  # at most one per loop per streak
    assert "Traceback" not in text, text[-4000:]  # a known fault: plain lines
    assert "works again" in text


@pytest.mark.slow
def test_a_web_process_answers_503_on_a_kept_alive_connection_and_recovers(
    own_postgres: str, tmp_path: Path
) -> None:
    """`nabuur run` while its database refuses connections: the clear 503 page, on the
    same kept-alive connection (an unhandled error made uvicorn close it), then 200."""
    url, port = own_postgres, free_port()
    env = node_environment(url) | {"NABUUR_RUN_WORKERS": "0", "NABUUR_PAGE_CACHE_SECONDS": "0"}
    command = [sys.executable, "-m", "node.cli"]
    init = subprocess.run([*command, "init", "--admin-username", "admin"], env=env, check=False)
    assert init.returncode == 0
    log_path = tmp_path / "web.log"
    with log_path.open("wb") as log:
        web = subprocess.Popen(
            [*command, "run", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    name = database_name(url)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:

        def get(path: str) -> tuple[int, str | None, str]:
            connection.request("GET", path, headers={"accept-language": "fr"})
            response = connection.getresponse()
            return response.status, response.getheader("retry-after"), response.read().decode()

        for _ in range(200):
            with contextlib.suppress(OSError):
                if get("/healthz")[0] == 200:
                    break
            connection.close()
            time.sleep(0.1)
        asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        try:
            asyncio.run(_pg_admin(terminate_sql(name)))
            for path in ("/", "/about", "/n/nowhere"):
                status, retry_after, body = get(path)  # the connection stays open
                assert (status, retry_after) == (503, "30"), (path, status, body[:300])
                assert '<html lang="fr">' in body
        finally:
            asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        status, _, body = get("/")  # no restart, same connection
        assert status == 200, body[:300]
        assert get("/healthz")[0] == 200
    finally:
        connection.close()
        web.send_signal(signal.SIGINT)
        web.wait(timeout=20)
    text = log_path.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]
    assert len(re.findall(r" ERROR ", text)) == 1, text[-4000:]  # the streak, said once


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_queue_loop_says_a_database_fault_in_one_plain_line(
    database: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's loops on a database that refuses connections: one line with the
    cause and what to do per streak, no traceback, then "works again"."""
    from node import queue_loop

    monkeypatch.setattr(queue_loop, "FIRST_BACKOFF", 0.05)
    monkeypatch.setattr(queue_loop, "MAX_BACKOFF", 0.1)
    tries: list[bool] = []

    async def run_once() -> int:
        try:
            await InboxItem.all().count()
        except Exception:
            tries.append(False)
            raise
        tries.append(True)
        return 0

    caplog.set_level(logging.INFO, logger="nabuur.worker")
    loop = queue_loop.QueueLoop("cut-worker", run_once, asyncio.Event(), poll_seconds=0.05)
    name = database_name(database)
    await _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        await _pg_admin(terminate_sql(name))
        loop.start()
        for _ in range(100):
            await asyncio.sleep(0.05)
            if tries.count(False) >= 5:
                break
    finally:
        await _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    for _ in range(100):
        if tries and tries[-1]:
            break
        await asyncio.sleep(0.05)
    await loop.stop()
    assert tries.count(False) >= 5 and tries[-1], tries
    records = [r for r in caplog.records if "cut-worker" in r.getMessage()]
    assert [r.levelno for r in records] == [logging.ERROR, logging.WARNING], records
    assert records[0].exc_info is None, "a known database fault got a traceback"
    # the cause and what to do: the connection was cut, or the database refuses new ones
    assert re.search(r"connection to the database was cut|refuses new", records[0].getMessage())
    assert "works again" in records[1].getMessage()
