"""Wake-up latency of `nabuur worker` processes on PostgreSQL: commit → work started.

Run by hand from the repository root (it is not part of the test suite)::

    .venv/bin/python tests/benchmarks/wakeup.py            # LISTEN/NOTIFY (the default)
    .venv/bin/python tests/benchmarks/wakeup.py --polling-only   # as before: polling

It makes a fresh PostgreSQL database (`nabuur init`, dropped afterwards), starts
`--workers` worker processes and, once they are idle, commits `--n` items of each queue
one at a time from this process, a few tens of milliseconds apart (each one finds the
workers asleep), through the node's own code:

* inbox: an item stored by the inbox writer (from an unknown sender, so handling it is
  one query) → its `processed_at`, written by the worker right after the handler returns;
* deliveries: one delivery row to a receiver in this process → the POST's arrival there
  (the worker signed it in between), after 20 not measured (a worker's first delivery
  loads its HTTP client and signing key);
* events: an event with nothing to federate → its `handled_at`.

Clocks: this process's `time.time()` at the commit, the worker's (same machine) at the
end. Printed: p50, p99 and max per queue against the 50 ms target. `--polling-only`
starts the workers with the listener switched off, to compare with polling alone
(every 0.5 s for inbox and deliveries, 1 s for events).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
import uuid
from pathlib import Path

from aiohttp import web

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script: make `tests.benchmarks` importable
    sys.path.insert(0, str(REPO))

from federation.inbox_store import InboxWriter, Received  # noqa: E402
from node import db, queue_signals  # noqa: E402
from node.models import Delivery, Event, InboxItem, OutboxActivity  # noqa: E402
from node.timeutil import utcnow  # noqa: E402
from tests.benchmarks.inbox import node_env, percentile, pg_admin, run_checked  # noqa: E402

TARGET_MS = 50.0
POLLING_ONLY = (
    "import sys; import node.queue_signals as q; q.Listener.start = lambda self: None; "
    "from node.cli import main; sys.exit(main(['worker']))"
)


async def _wait_for(query, count: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while await query.count() < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {await query.count()} of {count} done in {seconds:.0f} s")
        await asyncio.sleep(0.1)


async def _pause(i: int) -> None:
    await asyncio.sleep(0.02 + (i % 5) * 0.005)  # the workers are idle at each commit


async def measure_inbox(n: int, run: str) -> list[float]:
    writer = InboxWriter()
    committed: dict[str, float] = {}
    for i in range(n):
        activity_id = f"http://127.0.0.1:9/activities/{run}-{i}"
        await writer.store(Received(activity_id, "Like", "http://127.0.0.1:9/users/x", {}))
        committed[activity_id] = time.time()
        await _pause(i)
    query = InboxItem.filter(activity_id__in=list(committed), processed_at__not_isnull=True)
    await _wait_for(query, n)
    rows = await query.values_list("activity_id", "processed_at")
    return [(done.timestamp() - committed[a]) * 1000 for a, done in rows]


async def measure_events(n: int) -> list[float]:
    committed: dict[int, float] = {}
    for i in range(n):
        # Nothing to federate (the post does not exist): consumed at once, then handled.
        event = await Event.create(kind="PostEdited", payload={"post_id": str(uuid.uuid4())})
        await queue_signals.notify(queue_signals.EVENTS)
        committed[event.id] = time.time()
        await _pause(i)
    query = Event.filter(id__in=list(committed), handled_at__not_isnull=True)
    await _wait_for(query, n)
    rows = await query.values_list("id", "handled_at")
    return [(done.timestamp() - committed[i]) * 1000 for i, done in rows]


async def measure_deliveries(n: int) -> list[float]:
    arrived: dict[str, float] = {}

    async def inbox(request: web.Request) -> web.Response:
        arrived.setdefault(request.match_info["n"], time.time())
        await request.read()
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/inbox/{n}", inbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    key = uuid.uuid4()
    uri = f"http://127.0.0.1/activities/{key}"
    activity = await OutboxActivity.create(
        id=key,
        activity_uri=uri,
        activity_type="Create",
        actor_kind="instance",
        actor_key=None,
        payload={"id": uri, "type": "Create"},
    )
    committed: dict[str, float] = {}
    warm_up = 20  # not measured: each worker's first delivery loads its HTTP client and key
    try:
        for i in range(-warm_up, n):
            await Delivery.create(
                activity=activity,
                inbox=f"http://127.0.0.1:{port}/inbox/{i}",
                host=f"127.0.0.1:{port}",
                next_attempt_at=utcnow(),
            )
            await queue_signals.notify(queue_signals.DELIVERIES)
            committed[str(i)] = time.time()
            await _pause(i)
        await _wait_for(Delivery.filter(activity_id=key, status="sent"), n + warm_up)
    finally:
        await runner.cleanup()
    return [(arrived[i] - t) * 1000 for i, t in committed.items() if int(i) >= 0]


def _line(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p50, p99 = percentile(ordered, 0.50), percentile(ordered, 0.99)
    mark = "PASS" if p99 <= TARGET_MS else "MISS"
    return (
        f"{mark} {name:10} n={len(values)}  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
        f"max {ordered[-1]:6.1f} ms  (target: p99 <= {TARGET_MS:.0f} ms)"
    )


async def main_async(args: argparse.Namespace) -> int:
    name = f"nabuur_wakeup_{os.getpid()}_{secrets.token_hex(3)}"
    await pg_admin(args.pg_admin, f'CREATE DATABASE "{name}"')
    url = args.pg_admin.rsplit("/", 1)[0] + "/" + name
    env = node_env(
        NABUUR_DATABASE_URL=url,
        NABUUR_ADMIN_PASSWORD=secrets.token_urlsafe(18),
        PYTHONPATH=str(REPO),
    )
    workers: list[asyncio.subprocess.Process] = []
    try:
        nabuur = str(Path(sys.executable).parent / "nabuur")
        await asyncio.to_thread(
            run_checked, [nabuur, "init", "--admin-username", "admin"], env, "nabuur init"
        )
        argv = [sys.executable, "-c", POLLING_ONLY] if args.polling_only else [nabuur, "worker"]
        for _ in range(args.workers):
            workers.append(await asyncio.create_subprocess_exec(*argv, env=env, cwd=REPO))
        await asyncio.sleep(args.settle)
        await db.open_database(url)
        try:
            mode = "polling only" if args.polling_only else "LISTEN/NOTIFY"
            print(f"{args.workers} worker process(es), {mode}, {os.cpu_count()} cores")
            run = secrets.token_hex(4)
            print(_line("inbox", await measure_inbox(args.n, run)), flush=True)
            print(_line("deliveries", await measure_deliveries(args.n)), flush=True)
            print(_line("events", await measure_events(args.n)), flush=True)
        finally:
            await db.close_database()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            await asyncio.wait_for(worker.wait(), 30)
        await pg_admin(args.pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="items per queue (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--polling-only", action="store_true", help="workers without the listener")
    parser.add_argument(
        "--settle", type=float, default=4.0, help="seconds to let the workers start"
    )
    parser.add_argument(
        "--pg-admin",
        default=os.environ.get(
            "NABUUR_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL URL to create and drop the benchmark database with",
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.workers < 1:
        parser.error("--n and --workers must be positive")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
