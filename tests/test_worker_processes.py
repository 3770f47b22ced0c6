"""Several `nabuur worker` processes share one queue without sending twice, and lose
nothing when one is killed (`kill -9`) or stopped (SIGTERM) in the middle of a fan-out.

Figures (printed with -s): deliveries repeated after a kill against the requests in
flight at that moment, how long the rest waited, and how long a SIGTERM drain took.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from aiohttp import web

from federation.delivery_worker import DELIVERY_CONCURRENCY
from tests.conftest import _pg_admin, _pg_url

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

QUEUE_SCRIPT = """
import asyncio, sys, uuid
from node import db
from node.models import Delivery, OutboxActivity
from node.timeutil import utcnow

async def main(url, bases, count):
    bases = bases.split(",")
    await db.open_database(url)
    try:
        key = uuid.uuid4()
        activity = await OutboxActivity.create(
            id=key, activity_uri=f"http://127.0.0.1/activities/{key}", activity_type="Create",
            actor_kind="instance", actor_key=None,
            payload={"id": f"http://127.0.0.1/activities/{key}", "type": "Create"},
        )
        await Delivery.bulk_create([
            Delivery(activity=activity, inbox=f"{bases[i % len(bases)]}/inbox/{i}",
                     host=bases[i % len(bases)].split("//")[1], next_attempt_at=utcnow())
            for i in range(int(count))
        ])
    finally:
        await db.close_database()

asyncio.run(main(*sys.argv[1:4]))
"""


def env_for(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NABUUR_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "NABUUR_DATABASE_URL": url,
        "NABUUR_ALLOW_PRIVATE_ADDRESSES": "1",
        "NABUUR_ADMIN_PASSWORD": "correct horse battery",
        "NABUUR_LOG_LEVEL": "WARNING",
    }
    return env


async def start_receiver(inbox, hosts: int = 1) -> tuple[web.AppRunner, str]:
    """A loopback server taking POSTs at /inbox/{n} on `hosts` ports (the node sends at
    most 8 requests at a time to one host); returns it and its base URLs, comma-joined."""
    app = web.Application()
    app.router.add_post("/inbox/{n}", inbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    bases = []
    for _ in range(hosts):
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        bases.append(f"http://127.0.0.1:{port}")
    return runner, ",".join(bases)


@pytest.fixture
def pg_url(postgres_database: str):
    name = f"{postgres_database.rsplit('/', 1)[1]}_w{secrets.token_hex(3)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_two_workers_share_a_queue_of_1000_without_duplicates(
    pg_url: str, tmp_path: Path
) -> None:
    received: Counter[str] = Counter()

    async def inbox(request: web.Request) -> web.Response:
        await request.read()
        received[request.match_info["n"]] += 1
        return web.Response(status=202)

    runner, base = await start_receiver(inbox)
    env = env_for(pg_url)
    workers: list[asyncio.subprocess.Process] = []
    log = (tmp_path / "workers.log").open("wb")
    try:
        init = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "node.cli", "init", "--admin-username", "admin"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            check=False,
        )
        assert init.returncode == 0, init.stderr
        queued = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", QUEUE_SCRIPT, pg_url, base, "1000"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            check=False,
        )
        assert queued.returncode == 0, queued.stderr
        for _ in range(2):
            workers.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "node.cli",
                    "worker",
                    cwd=tmp_path,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for _ in range(300):
            if sum(received.values()) >= 1000:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # anything sent twice would arrive by now
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        for worker in workers:
            await asyncio.wait_for(worker.wait(), 15)
        log.close()
        await runner.cleanup()
    assert len(received) == 1000
    assert set(received.values()) == {1}, "some inbox got the activity twice"
    assert all(worker.returncode == 0 for worker in workers), (tmp_path / "workers.log").read_text()


class SlowInboxes:
    """A receiver that takes `delay` seconds per POST and counts arrivals as they come
    (a request in flight when its sender dies still counts: the receiver did the work)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.arrivals: Counter[str] = Counter()
        self.ids: dict[str, set[str]] = {}
        self.open = 0  # requests being answered now
        self.last_arrival = 0.0

    async def inbox(self, request: web.Request) -> web.Response:
        body = await request.json()
        n = request.match_info["n"]
        self.arrivals[n] += 1
        self.ids.setdefault(n, set()).add(body["id"])
        self.last_arrival = time.monotonic()
        self.open += 1
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.open -= 1
        return web.Response(status=202)

    @property
    def total(self) -> int:
        return sum(self.arrivals.values())

    async def until(self, check, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return True
            await asyncio.sleep(0.02)
        return check()


async def _prepare(url: str, base: str, count: int, env: dict[str, str], cwd: Path) -> None:
    for argv in (
        [sys.executable, "-m", "node.cli", "init", "--admin-username", "admin"],
        [sys.executable, "-c", QUEUE_SCRIPT, url, base, str(count)],
    ):
        done = await asyncio.to_thread(
            subprocess.run, argv, cwd=cwd, env=env, capture_output=True, check=False
        )
        assert done.returncode == 0, done.stderr


async def _worker(env: dict[str, str], cwd: Path, log) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "node.cli",
        "worker",
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def _stop(worker: asyncio.subprocess.Process) -> int:
    if worker.returncode is None:
        worker.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(worker.wait(), 30)


@pytest.fixture(params=["sqlite", "postgres"])
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return request.getfixturevalue("pg_url")
    return f"sqlite://{tmp_path}/node.sqlite3"


async def test_kill_9_in_the_middle_of_a_fan_out_repeats_only_what_was_in_flight(
    queue_url: str, tmp_path: Path
) -> None:
    """300 inboxes, 0.3 s each; the worker is killed with SIGKILL mid-batch and another
    starts at once. Every inbox gets the activity; only the requests whose outcome was
    not committed at the kill (at most DELIVERY_CONCURRENCY) come twice, and the rows
    the dead worker held are taken over when their short lease runs out."""
    lease = 3
    url = queue_url
    backend = "sqlite" if url.startswith("sqlite") else "postgres"
    receiver = SlowInboxes(0.3)
    runner, base = await start_receiver(receiver.inbox, hosts=8)
    env = env_for(url) | {"NABUUR_DELIVERY_LEASE_SECONDS": str(lease)}
    log = (tmp_path / "worker.log").open("wb")
    second = None
    try:
        await _prepare(url, base, 300, env, tmp_path)
        first = await _worker(env, tmp_path, log)
        assert await receiver.until(lambda: receiver.total >= 90, 60)
        in_flight, at_kill = receiver.open, receiver.total
        first.kill()  # SIGKILL: no clean-up of any kind
        killed = time.monotonic()
        await first.wait()
        assert 0 < at_kill < 300, "the kill did not land in the middle of the fan-out"
        second = await _worker(env, tmp_path, log)
        assert await receiver.until(lambda: receiver.last_arrival > killed + 0.1, 60)
        picked_up = receiver.last_arrival - killed
        assert await receiver.until(lambda: len(receiver.arrivals) == 300, 60)
        finished = time.monotonic() - killed
        await asyncio.sleep(0.5)  # anything sent twice more would arrive by now
        assert await _stop(second) == 0
    finally:
        if second is not None and second.returncode is None:
            second.kill()
        log.close()
        await runner.cleanup()
    repeats = receiver.total - 300
    print(
        f"\n{backend}: kill -9 after {at_kill} arrivals with {in_flight} requests in flight; "
        f"{repeats} deliveries repeated; sending again {picked_up:.1f} s after the kill "
        f"(lease {lease} s), all 300 in {finished:.1f} s"
    )
    assert len(receiver.arrivals) == 300
    assert all(len(ids) == 1 for ids in receiver.ids.values())  # one activity each
    assert repeats <= DELIVERY_CONCURRENCY  # at most what was in flight
    # The held rows waited for their lease (and a worker's start), not for minutes.
    assert picked_up < lease + 10


async def test_sigterm_finishes_the_requests_in_flight_and_gives_back_the_rest(
    pg_url: str, tmp_path: Path
) -> None:
    """SIGTERM mid-batch: the worker sends no new request, finishes those in flight,
    releases the rest of its batch and exits 0; another worker sends the rest at once
    (not after the 30 s lease), and no inbox gets anything twice."""
    receiver = SlowInboxes(0.3)
    runner, base = await start_receiver(receiver.inbox, hosts=8)
    env = env_for(pg_url)  # the default lease: 30 s
    log = (tmp_path / "worker.log").open("wb")
    second = None
    try:
        await _prepare(pg_url, base, 300, env, tmp_path)
        first = await _worker(env, tmp_path, log)
        assert await receiver.until(lambda: receiver.total >= 90, 60)
        first.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = await asyncio.wait_for(first.wait(), 30)
        drained = time.monotonic() - signalled
        at_exit = receiver.total
        second = await _worker(env, tmp_path, log)
        started = time.monotonic()
        assert await receiver.until(lambda: len(receiver.arrivals) == 300, 60)
        rest = time.monotonic() - started
        await asyncio.sleep(0.5)
        assert await _stop(second) == 0
    finally:
        if second is not None and second.returncode is None:
            second.kill()
        log.close()
        await runner.cleanup()
    print(
        f"\nSIGTERM drain: exit {code} after {drained:.2f} s with {at_exit} of 300 sent; "
        f"the rest sent by another worker within {rest:.1f} s of its start"
    )
    assert code == 0, (tmp_path / "worker.log").read_text()
    assert drained < 10
    assert receiver.total == 300 and set(receiver.arrivals.values()) == {1}
    assert rest < 15  # released rows are taken at once, not after the 30 s lease


async def test_leases_are_renewed_while_a_long_batch_is_sent(pg_url: str, tmp_path: Path) -> None:
    """Two workers, a 2 s lease and inboxes that take 1 s each: a batch of 200 takes
    about 4 s, twice the lease. The heartbeat keeps its rows claimed, so the other worker,
    idle after its own share, takes none of them: nothing is sent twice."""
    receiver = SlowInboxes(1.0)
    runner, base = await start_receiver(receiver.inbox, hosts=8)
    env = env_for(pg_url) | {"NABUUR_DELIVERY_LEASE_SECONDS": "2"}
    log = (tmp_path / "workers.log").open("wb")
    workers: list[asyncio.subprocess.Process] = []
    try:
        await _prepare(pg_url, base, 260, env, tmp_path)
        workers = [await _worker(env, tmp_path, log) for _ in range(2)]
        assert await receiver.until(lambda: len(receiver.arrivals) == 260, 60)
        await asyncio.sleep(2.5)  # a row taken over after its lease would arrive by now
        codes = [await _stop(worker) for worker in workers]
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
        log.close()
        await runner.cleanup()
    assert codes == [0, 0], (tmp_path / "workers.log").read_text()
    assert receiver.total == 260 and set(receiver.arrivals.values()) == {1}
