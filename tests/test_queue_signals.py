"""Workers wake at the commit of new work (PostgreSQL LISTEN/NOTIFY), and only then.

The notification is delivered at commit and never on rollback; the listener reconnects
by itself after its connection is terminated or the database refuses connections for a
while (one log line per outage); on SQLite nothing is sent and loops poll. The latency
test commits 200 inbox items from another process through the real inbox writer and
measures commit → handler start in a worker runtime here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from tortoise.transactions import in_transaction

import federation.worker
from federation.inbox_store import InboxWriter, Received
from federation.runtime import FederationRuntime
from node import db, events, queue_signals
from node.config import Settings
from node.models import Delivery, DeliveryStatus, InboxItem, OutboxActivity
from node.queue_signals import Listener
from node.services import delivery_queue
from node.timeutil import utcnow
from tests.conftest import _pg_admin, _pg_url

ROOT = Path(__file__).resolve().parent.parent
ITEMS = 200


@pytest.fixture
def postgres_url(database: str) -> str:
    if db.is_sqlite(database):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    return database


@pytest.fixture
async def listening(postgres_url: str) -> AsyncIterator[tuple[Listener, dict[str, asyncio.Event]]]:
    wakes = {channel: asyncio.Event() for channel in queue_signals.CHANNELS}
    listener = Listener(postgres_url, wakes)
    listener.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        for wake in wakes.values():  # set once on connecting: work may have been missed
            assert wake.is_set()
            wake.clear()
        yield listener, wakes
    finally:
        await listener.stop()


async def _quiet(wake: asyncio.Event, seconds: float = 0.3) -> bool:
    """Whether `wake` stays unset for `seconds`."""
    await asyncio.sleep(seconds)
    return not wake.is_set()


async def test_workers_are_woken_at_commit_and_not_on_rollback(
    listening: tuple[Listener, dict[str, asyncio.Event]],
) -> None:
    _, wakes = listening
    wake = wakes[queue_signals.EVENTS]
    async with in_transaction():
        await events.emit(events.PostPublished(post_id="00000000-0000-0000-0000-000000000001"))
        assert await _quiet(wake), "woken before the commit: the row is not visible yet"
    await asyncio.wait_for(wake.wait(), 2)
    assert not wakes[queue_signals.INBOX].is_set()  # each queue has its own channel
    wake.clear()
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await events.emit(events.PostPublished(post_id="00000000-0000-0000-0000-000000000002"))
            raise RuntimeError("the service failed: nothing was stored")
    assert await _quiet(wake)

    await InboxWriter().store(Received("http://127.0.0.1:9/a/1", "Like", "http://x", {}))
    await asyncio.wait_for(wakes[queue_signals.INBOX].wait(), 2)


async def test_an_admins_retry_wakes_the_delivery_workers(
    listening: tuple[Listener, dict[str, asyncio.Event]],
) -> None:
    _, wakes = listening
    wake = wakes[queue_signals.DELIVERIES]
    activity = await OutboxActivity.create(
        activity_uri="http://127.0.0.1/activities/retry",
        activity_type="Create",
        actor_kind="instance",
        payload={},
    )
    failed = await Delivery.create(
        activity=activity,
        inbox="http://127.0.0.1:9/inbox",
        host="127.0.0.1:9",
        status=DeliveryStatus.FAILED,
        next_attempt_at=utcnow() + timedelta(hours=1),
    )
    assert await _quiet(wake)
    assert await delivery_queue.retry_now(failed.id) == 1
    await asyncio.wait_for(wake.wait(), 2)  # not half a second later, at the next poll


async def test_the_listener_reconnects_after_its_connection_is_terminated(
    listening: tuple[Listener, dict[str, asyncio.Event]], caplog: pytest.LogCaptureFixture
) -> None:
    listener, wakes = listening
    caplog.set_level(logging.INFO, logger="nabuur.queue_signals")
    pid = listener.server_pid
    assert pid is not None
    await _pg_admin(f"SELECT pg_terminate_backend({int(pid)})")
    for _ in range(100):
        if listener.connects == 2 and listener.connected.is_set():
            break
        await asyncio.sleep(0.05)
    assert listener.connects == 2 and listener.server_pid not in (None, pid)
    assert all(wake.is_set() for wake in wakes.values())  # a look after the outage
    wakes[queue_signals.DELIVERIES].clear()
    await queue_signals.notify(queue_signals.DELIVERIES)
    await asyncio.wait_for(wakes[queue_signals.DELIVERIES].wait(), 2)
    messages = [r.getMessage() for r in caplog.records if r.name == "nabuur.queue_signals"]
    assert len(messages) == 2 and "listening again" in messages[1], messages


@pytest.fixture
def own_database(postgres_database: str) -> Iterator[str]:
    """A database of this test's own, which it may close to connections."""
    name = f"{postgres_database.rsplit('/', 1)[1]}_l{secrets.token_hex(3)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_the_listener_waits_out_an_outage_with_one_line_of_log(
    own_database: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue_signals, "FIRST_RETRY", 0.1)
    monkeypatch.setattr(queue_signals, "MAX_RETRY", 0.4)
    caplog.set_level(logging.INFO, logger="nabuur.queue_signals")
    name = own_database.rsplit("/", 1)[1]
    wake = asyncio.Event()
    listener = Listener(own_database, {queue_signals.INBOX: wake})
    listener.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        await _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await _pg_admin(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
        await asyncio.sleep(2.0)  # a dozen failed attempts
        assert not listener.connected.is_set()
        await _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await asyncio.wait_for(listener.connected.wait(), 5)
        wake.clear()
        conn = await asyncpg.connect(own_database.replace("postgres://", "postgresql://"))
        try:
            await conn.execute(f"NOTIFY {queue_signals.INBOX}")
        finally:
            await conn.close()
        await asyncio.wait_for(wake.wait(), 2)
    finally:
        await listener.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "nabuur.queue_signals"]
    assert len(messages) == 2, messages  # down, back: not one line per attempt
    assert "polling until it reconnects" in messages[0] and "listening again" in messages[1]


async def test_nothing_is_sent_on_sqlite_and_channels_are_ours(database: str) -> None:
    with pytest.raises(ValueError, match="unknown queue channel"):
        await queue_signals.notify("nabuur_inbox; DROP TABLE events")
    if db.is_sqlite(database):
        await queue_signals.notify(queue_signals.INBOX)  # nothing to do, no error
        with pytest.raises(ValueError, match="PostgreSQL"):
            Listener(database, {})
        assert FederationRuntime.create(Settings(database_url=database)).listener is None


COMMITTER = """
import asyncio, json, sys, time
from node import db
from federation.inbox_store import InboxWriter, Received

async def main(url, count, run):
    await db.open_database(url)
    writer = InboxWriter()
    committed = {}
    try:
        for i in range(int(count)):
            activity_id = f"http://127.0.0.1:9/activities/{run}-{i}"
            await writer.store(
                Received(activity_id, "Like", "http://127.0.0.1:9/users/nobody", {"type": "Like"})
            )
            committed[activity_id] = time.time()
            await asyncio.sleep(0.015 + (i % 7) * 0.002)  # a steady trickle, not a burst
    finally:
        await db.close_database()
    print(json.dumps(committed))

asyncio.run(main(*sys.argv[1:4]))
"""


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


@pytest.mark.slow
async def test_commit_to_handler_start_latency_with_listen_notify(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process commits 200 items one by one; a worker here starts each handler
    soon after its commit, woken by the listener (polling alone: up to 500 ms)."""
    started: dict[str, float] = {}
    handle = federation.worker._handle

    async def timed(fed, item, cache, suspended):
        started.setdefault(item.activity_id, time.time())
        return await handle(fed, item, cache, suspended)

    monkeypatch.setattr(federation.worker, "_handle", timed)
    runtime = FederationRuntime.create(Settings(database_url=postgres_url))
    assert runtime.listener is not None
    runtime.start_workers()
    try:
        await asyncio.wait_for(runtime.listener.connected.wait(), 10)
        run = secrets.token_hex(4)
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", COMMITTER, postgres_url, str(ITEMS), run],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        committed: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
        for _ in range(100):
            if len(started) >= ITEMS:
                break
            await asyncio.sleep(0.05)
    finally:
        await runtime.stop()
    assert set(started) == set(committed)
    assert await InboxItem.filter(status="pending").count() == 0
    latencies = [(started[a] - committed[a]) * 1000 for a in committed]
    p50, p99 = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
    print(
        f"\ncommit -> handler start over {ITEMS} items (another process commits): "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms"
    )
    assert p99 < 250, f"p99 {p99:.0f} ms: the listener does not wake the worker"
