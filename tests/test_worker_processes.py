"""Several `nabuur worker` processes share one PostgreSQL queue without sending twice."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import _pg_admin, _pg_url

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

QUEUE_SCRIPT = """
import asyncio, sys, uuid
from node import db
from node.models import Delivery, OutboxActivity
from node.timeutil import utcnow

async def main(url, base, count):
    await db.open_database(url)
    try:
        key = uuid.uuid4()
        activity = await OutboxActivity.create(
            id=key, activity_uri=f"http://127.0.0.1/activities/{key}", activity_type="Create",
            actor_kind="instance", actor_key=None,
            payload={"id": f"http://127.0.0.1/activities/{key}", "type": "Create"},
        )
        await Delivery.bulk_create([
            Delivery(activity=activity, inbox=f"{base}/inbox/{i}", host=base.split("//")[1],
                     next_attempt_at=utcnow())
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


async def start_receiver(inbox) -> tuple[web.AppRunner, str]:
    """A loopback server taking POSTs at /inbox/{n}; returns it and its base URL."""
    app = web.Application()
    app.router.add_post("/inbox/{n}", inbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


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


async def test_kill_9_in_the_middle_of_a_fan_out_loses_nothing(tmp_path: Path) -> None:
    """200 inboxes; the worker is killed with SIGKILL while sending, then started again.

    Every inbox gets the activity. Requests that were in flight at the kill may come
    twice: receivers (like every ActivityPub server) drop a repeated activity id, so
    each inbox processes it exactly once.
    """
    url = f"sqlite://{tmp_path}/node.sqlite3"
    arrivals: Counter[str] = Counter()
    seen: dict[str, set[str]] = {}

    async def inbox(request: web.Request) -> web.Response:
        body = await request.json()
        await asyncio.sleep(0.2)  # a slow peer, so the kill lands mid-fan-out
        n = request.match_info["n"]
        arrivals[n] += 1
        seen.setdefault(n, set()).add(body["id"])
        return web.Response(status=202)

    runner, base = await start_receiver(inbox)
    env = env_for(url) | {"NABUUR_DELIVERY_LEASE_SECONDS": "3"}
    log = (tmp_path / "worker.log").open("wb")
    try:
        for argv in (
            [sys.executable, "-m", "node.cli", "init", "--admin-username", "admin"],
            [sys.executable, "-c", QUEUE_SCRIPT, url, base, "200"],
        ):
            done = await asyncio.to_thread(
                subprocess.run, argv, cwd=tmp_path, env=env, capture_output=True, check=False
            )
            assert done.returncode == 0, done.stderr

        async def start_worker() -> asyncio.subprocess.Process:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "node.cli",
                "worker",
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        first = await start_worker()
        for _ in range(300):
            if sum(arrivals.values()) >= 40:
                break
            await asyncio.sleep(0.05)
        first.kill()  # SIGKILL: no clean-up of any kind
        await first.wait()
        killed_at = sum(arrivals.values())
        assert 0 < killed_at < 200, "the kill did not land in the middle of the fan-out"

        second = await start_worker()
        for _ in range(600):
            if len(arrivals) == 200:
                break
            await asyncio.sleep(0.1)
        second.send_signal(signal.SIGINT)
        await asyncio.wait_for(second.wait(), 15)
    finally:
        log.close()
        await runner.cleanup()
    assert len(arrivals) == 200, f"{200 - len(arrivals)} inboxes never got the activity"
    assert all(len(ids) == 1 for ids in seen.values())  # one activity, processed once each
    repeats = sum(arrivals.values()) - 200
    assert repeats <= 64  # at most what was in flight (the delivery concurrency)
