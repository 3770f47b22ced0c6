"""Short leases renewed while working, outcomes committed as they come, clean stops.

On SQLite and PostgreSQL: a held row's lease is renewed and a finished row is never
touched; a stopping worker finishes the item (chunk, request) in hand and gives the rest
of its batch back at once; each delivery's outcome is committed while the rest of its
batch is still being sent; and a queue loop whose batches fail logs once per streak,
backs off, and works again by itself (on PostgreSQL after `pg_terminate_backend` of the
node's own connections).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections import Counter
from datetime import timedelta

import asyncpg
import pytest
from aiohttp import web
from tortoise.expressions import Q

import federation.worker
from federation.context import Federation
from federation.delivery_worker import deliver_once, delivery_leases
from federation.event_consumer import consume_events_once, event_leases
from federation.worker import inbox_leases, process_inbox_once
from node import db, queue_loop
from node.config import Settings
from node.leases import Leases
from node.models import Delivery, DeliveryStatus, Event, InboxItem, InboxStatus, OutboxActivity
from node.queue_loop import QueueLoop
from node.timeutil import utcnow
from tests import factories
from tests.conftest import PG_ADMIN_URL

UNKNOWN_ACTOR = "http://127.0.0.1:9/users/nobody"  # never stored: items are rejected fast


async def _deliveries(base: str, count: int) -> list[int]:
    key = uuid.uuid4()
    activity = await OutboxActivity.create(
        id=key,
        activity_uri=f"http://127.0.0.1/activities/{key}",
        activity_type="Create",
        actor_kind="instance",
        actor_key=None,
        payload={"id": f"http://127.0.0.1/activities/{key}", "type": "Create"},
    )
    await Delivery.bulk_create(
        [
            Delivery(
                activity=activity,
                inbox=f"{base}/inbox/{i}",
                host=base.split("//")[1],
                next_attempt_at=utcnow(),
            )
            for i in range(count)
        ]
    )
    return list(await Delivery.filter(activity_id=key).order_by("id").values_list("id", flat=True))


async def _receiver(handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/inbox/{n}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def _fed(database: str) -> Federation:
    return Federation.create(
        Settings(database_url=database, allow_private_addresses=True, delivery_lease_seconds=30)
    )


async def test_held_rows_are_renewed_and_released_finished_rows_never(database: str) -> None:
    await factories.node_row()
    ids = await _deliveries("http://127.0.0.1:9", 3)
    leases = Leases(Delivery, timedelta(seconds=30), Q(status=DeliveryStatus.PENDING))
    claimed_until = utcnow() + timedelta(seconds=2)
    await Delivery.filter(id__in=ids).update(locked_until=claimed_until)
    leases.hold(ids)
    # The third is finished meanwhile: its outcome is written, it is no longer claimed.
    await Delivery.filter(id=ids[2]).update(status=DeliveryStatus.SENT, locked_until=None)
    assert await leases.renew() == 2
    rows = {r.id: r for r in await Delivery.filter(id__in=ids)}
    assert all(rows[i].locked_until > claimed_until + timedelta(seconds=20) for i in ids[:2])
    assert rows[ids[2]].locked_until is None
    assert await leases.release([ids[0]]) == 1
    assert leases.held == {ids[1], ids[2]}
    assert await leases.release() == 1  # the sent one stays as it is
    assert leases.held == set()
    rows = {r.id: r for r in await Delivery.filter(id__in=ids)}
    assert [rows[i].locked_until for i in ids] == [None, None, None]
    assert rows[ids[2]].status == DeliveryStatus.SENT


async def test_a_stopping_inbox_worker_finishes_its_chunk_and_gives_back_the_rest(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await InboxItem.bulk_create(
        [
            InboxItem(
                activity_id=f"http://127.0.0.1:9/activities/{i}",
                activity_type="Like",
                actor_uri=UNKNOWN_ACTOR,
                payload={"type": "Like"},
            )
            for i in range(25)
        ]
    )
    fed = _fed(database)
    stopping = asyncio.Event()
    handle = federation.worker._handle

    async def stopped_while_handling(*args):  # SIGTERM arrives during the first item
        stopping.set()
        return await handle(*args)

    monkeypatch.setattr(federation.worker, "_handle", stopped_while_handling)
    leases = inbox_leases(fed)
    assert await process_inbox_once(fed, leases=leases, stopping=stopping) == 25
    statuses = Counter(await InboxItem.all().values_list("status", flat=True))
    assert statuses == {InboxStatus.REJECTED: federation.worker.CHUNK, InboxStatus.PENDING: 15}
    assert await InboxItem.filter(locked_until__not_isnull=True).count() == 0
    assert leases.held == set()
    # Another worker takes the rest at once, without waiting for a lease.
    assert await process_inbox_once(fed) == 15


async def test_a_stopping_event_worker_gives_back_what_it_has_not_started(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await Event.bulk_create([Event(kind="NotForFederation", payload={"n": i}) for i in range(5)])
    fed = _fed(database)
    stopping = asyncio.Event()
    from federation import event_consumer

    consume = event_consumer._consume

    async def stopped_while_consuming(fed_, event):
        stopping.set()
        await consume(fed_, event)

    monkeypatch.setattr(event_consumer, "_consume", stopped_while_consuming)
    leases = event_leases(fed)
    assert await consume_events_once(fed, leases=leases, stopping=stopping) == 5
    assert await Event.filter(handled_at__not_isnull=True).count() == 1
    assert await Event.filter(handled_at=None, locked_until=None).count() == 4
    assert leases.held == set()


async def test_each_outcome_is_committed_while_the_batch_is_still_sending(database: str) -> None:
    """Nine fast inboxes and a slow one: the nine are `sent` in the database while the
    slow request is still open, so a worker killed now would send only it again."""
    await factories.node_row()
    slow_started = asyncio.Event()
    seen_while_slow: list[int] = []

    async def inbox(request: web.Request) -> web.Response:
        await request.read()
        if request.match_info["n"] == "0":
            slow_started.set()
            for _ in range(100):  # until the others' outcomes are committed
                sent = await Delivery.filter(status=DeliveryStatus.SENT).count()
                if sent == 9:
                    break
                await asyncio.sleep(0.02)
            seen_while_slow.append(sent)
        return web.Response(status=202)

    runner, base = await _receiver(inbox)
    try:
        await _deliveries(base, 10)
        fed = _fed(database)
        leases = delivery_leases(fed)
        assert await deliver_once(fed, leases=leases) == 10
    finally:
        await runner.cleanup()
        await fed.close()
    assert slow_started.is_set()
    assert seen_while_slow == [9]
    assert await Delivery.filter(status=DeliveryStatus.SENT).count() == 10
    assert leases.held == set()


async def test_a_stopping_delivery_worker_finishes_requests_in_flight_only(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await factories.node_row()
    monkeypatch.setattr("federation.delivery_worker.DELIVERY_CONCURRENCY", 4)
    stopping = asyncio.Event()
    arrivals: Counter[str] = Counter()

    async def inbox(request: web.Request) -> web.Response:
        await request.read()
        arrivals[request.match_info["n"]] += 1
        stopping.set()  # SIGTERM while the first requests are out
        await asyncio.sleep(0.1)
        return web.Response(status=202)

    runner, base = await _receiver(inbox)
    fed = _fed(database)
    try:
        await _deliveries(base, 20)
        leases = delivery_leases(fed)
        assert await deliver_once(fed, leases=leases, stopping=stopping) == 20
        assert sum(arrivals.values()) == 4  # the requests already out, no new ones
        assert await Delivery.filter(status=DeliveryStatus.SENT).count() == 4
        assert await Delivery.filter(locked_until__not_isnull=True).count() == 0
        assert leases.held == set()
        # Another worker sends the other 16 at once, each once.
        assert await deliver_once(fed) == 16
    finally:
        await runner.cleanup()
        await fed.close()
    assert len(arrivals) == 20 and set(arrivals.values()) == {1}


async def test_a_failing_loop_logs_once_per_streak_backs_off_and_recovers(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue_loop, "FIRST_BACKOFF", 0.05)
    monkeypatch.setattr(queue_loop, "MAX_BACKOFF", 0.2)
    calls: list[float] = []
    down_until = time.monotonic() + 1.5

    async def run_once() -> int:
        calls.append(time.monotonic())
        if time.monotonic() < down_until:
            raise ConnectionRefusedError("the database is away")
        return 0

    caplog.set_level(logging.INFO, logger="nabuur.worker")
    loop = QueueLoop("test-worker", run_once, asyncio.Event(), poll_seconds=0.05)
    loop.start()
    await asyncio.sleep(2.0)
    await loop.stop()
    failed = [c for c in calls if c < down_until]
    gaps = [b - a for a, b in itertools.pairwise(failed)]
    # Backing off: 0.05, 0.1, 0.2, 0.2... not 30 attempts in 1.5 s.
    assert 4 <= len(failed) <= 12, len(failed)
    assert gaps[0] < gaps[2]
    assert len(calls) > len(failed)  # it works again by itself
    records = [r for r in caplog.records if "test-worker" in r.getMessage()]
    assert [r.levelno for r in records] == [logging.ERROR, logging.WARNING]
    assert records[0].exc_info is not None  # one traceback per streak
    assert "works again" in records[1].getMessage()


@pytest.fixture
async def postgres_only(database: str) -> str:
    if db.is_sqlite(database):
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    return database


async def test_the_inbox_loop_recovers_after_its_connections_are_terminated(
    postgres_only: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PostgreSQL restart, failover or pooler reset: every connection of the node is
    terminated while its inbox loop runs; the loop keeps working without a restart."""
    monkeypatch.setattr(queue_loop, "FIRST_BACKOFF", 0.1)
    fed = _fed(postgres_only)
    leases = inbox_leases(fed)
    stopping = asyncio.Event()
    wake = asyncio.Event()
    loop = QueueLoop(
        "inbox-worker",
        lambda: process_inbox_once(fed, leases=leases, stopping=stopping),
        wake,
        0.1,
        leases=leases,
        stopping=stopping,
    )

    async def receive(first: int, count: int) -> None:
        await InboxItem.bulk_create(
            [
                InboxItem(
                    activity_id=f"http://127.0.0.1:9/activities/{i}",
                    activity_type="Like",
                    actor_uri=UNKNOWN_ACTOR,
                    payload={"type": "Like"},
                )
                for i in range(first, first + count)
            ]
        )
        wake.set()

    async def finished() -> int:
        return await InboxItem.filter(status=InboxStatus.REJECTED).count()

    dbname = postgres_only.rsplit("/", 1)[1]
    admin = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"))
    caplog.set_level(logging.INFO, logger="nabuur.worker")
    loop.start()
    try:
        await receive(0, 50)
        for _ in range(100):
            if await finished() == 50:
                break
            await asyncio.sleep(0.05)
        for _ in range(3):  # each time, every connection of ours goes
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                dbname,
            )
            await asyncio.sleep(0.3)
        done, received = 0, False
        for _ in range(200):  # more items arrive, stored through fresh connections
            try:
                if not received:
                    await receive(50, 50)
                    received = True
                done = await finished()
            except Exception:  # this test's own connection was terminated too: again
                await asyncio.sleep(0.1)
                continue
            if done == 100:
                break
            await asyncio.sleep(0.05)
    finally:
        await loop.stop()
        await admin.close()
    assert done == 100, f"only {done} of 100 items handled after the connections were terminated"
    lines = [r for r in caplog.records if r.name == "nabuur.worker" and r.levelno >= logging.ERROR]
    assert len(lines) <= 3, [r.getMessage() for r in lines]  # one per streak at most
