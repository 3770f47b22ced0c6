"""Fan-out of one activity to its followers by a real `nabuur worker` process.

Run by hand from the repository root (it is not part of the test suite)::

    .venv/bin/python tests/benchmarks/fanout.py --backend both

Three shapes, the followers living on `--hosts` hosts (distinct 127.0.0.1 ports):

* shared: every host has a shared inbox, so the activity goes out `--hosts` times;
* personal: every follower has only a personal inbox (`/users/{n}/inbox`), `--followers`
  (1,000) deliveries spread evenly over the same hosts; `--rounds N` runs it N times
  and judges the median;
* sustained: the same with `--sustained` (4,000) followers, a few seconds of sending at
  full speed, to show the rate holds (0 leaves it out).

For each backend: `nabuur init` on a fresh SQLite file (or a fresh PostgreSQL database,
dropped afterwards), then a receiver process (one aiohttp server listening on every host's
port) that verifies the draft-cavage signature of every POST with the instance actor's public
key, and a `nabuur worker` process. Once the worker is idle, one OutboxActivity (a ~2 KB
Create(Note), signed by the instance actor) and one Delivery row per inbox are committed in
the database, with the NOTIFY the outbox sends on PostgreSQL; the clock starts at that commit.

On SQLite nothing wakes a separate worker process: it finds new rows when it polls (every
0.5 s). The pick-up delay (commit to first arrival) is therefore printed apart, and the
targets are judged on the fan-out itself (first to last verified arrival); the total from the
commit is printed too. Printed per shape: deliveries/s, those times, the worker's CPU per
delivery (user + system, from /proc; of it, the event loop's thread: the rest is the signing
threads and SQLite's thread), the receivers' CPU per delivery, how busy the machine's cores
were meanwhile (other processes included: on a shared machine compare CPU per delivery, not
rates), the worker's peak RSS (VmHWM, reset before each shape), and failures (signature
failures or non-2xx at the receivers, delivery rows not `sent`). `--py-spy DIR` samples the
worker during each shape with py-spy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script: make `tests.benchmarks` importable
    sys.path.insert(0, str(REPO))

from tests.benchmarks.inbox import (  # noqa: E402
    cpu_seconds,
    machine_busy_seconds,
    node_env,
    pg_admin,
    proc_status,
    reset_peak_rss,
    run_backends,
    run_checked,
    start_py_spy,
    stop_py_spy,
    summarise_profile,
)

VENV_BIN = Path(sys.executable).parent
TARGET_SHARED_SECONDS = 0.25  # 100 shared inboxes all served within
TARGET_PERSONAL_SECONDS = 1.0  # from issue 15: 1,000 personal inboxes served within
TARGET_RATE = 1000.0  # signed deliveries per second, sustained (issue 15)
POLL_SECONDS = 0.02
STALL_SECONDS = 30.0


def loop_thread_cpu(pid: int) -> float:
    """CPU seconds of the worker's main thread (its event loop) alone: the rest of the
    worker's CPU is its threads (signing pool, SQLite's connection thread)."""
    try:
        fields_ = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


# --- the receivers (a separate process, so their CPU is not the worker's) ------------------

RECEIVER_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from aiohttp import web
    from federation.signatures import verify_cavage
    from node.keys import load_public_key

    key = load_public_key(open(sys.argv[1]).read())
    hosts = int(sys.argv[2])
    stats = {}

    def reset():
        stats.update(verified=0, failed=0, first=None, last=None, inboxes=[], errors={})

    async def inbox(request):
        body = await request.read()
        try:
            verify_cavage(method=request.method, target=request.raw_path,
                          headers=request.headers, body=body, public_key=key)
        except Exception as exc:
            stats["failed"] += 1
            reason = f"{type(exc).__name__}: {exc}"[:120]
            stats["errors"][reason] = stats["errors"].get(reason, 0) + 1
            return web.Response(status=401)
        now = time.time()
        stats["verified"] += 1
        stats["first"] = stats["first"] or now
        stats["last"] = now
        stats["inboxes"].append(f"{request.host}{request.raw_path}")
        return web.Response(status=202)

    async def get_stats(request):
        out = dict(stats, distinct=len(set(stats["inboxes"])))
        del out["inboxes"]
        return web.json_response(out)

    async def post_reset(request):
        reset()
        return web.json_response({})

    async def main():
        reset()
        app = web.Application()
        app.router.add_post("/inbox", inbox)
        app.router.add_post("/users/{n}/inbox", inbox)
        app.router.add_get("/_stats", get_stats)
        app.router.add_post("/_reset", post_reset)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        ports = []
        for _ in range(hosts + 1):  # the last one is the control port
            site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
            await site.start()
            ports.append(site._server.sockets[0].getsockname()[1])
        print(json.dumps(ports), flush=True)
        await asyncio.Event().wait()

    try:  # the receivers stand for other servers: the less CPU they take here, the better
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
    """
)


class Receivers:
    def __init__(self, public_key_file: Path, hosts: int, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", RECEIVER_SCRIPT, str(public_key_file), str(hosts)],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the receiver process did not start")
        ports = json.loads(line)
        self.ports: list[int] = ports[:-1]
        self.control = f"http://127.0.0.1:{ports[-1]}"

    async def stats(self, session: aiohttp.ClientSession) -> dict:
        async with session.get(f"{self.control}/_stats") as r:
            return await r.json()

    async def reset(self, session: aiohttp.ClientSession) -> None:
        async with session.post(f"{self.control}/_reset") as r:
            await r.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


# --- queueing the activity (in a subprocess, through the node's own models) ---------------

QUEUE_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys, time, uuid
    from node import db, queue_signals
    from node.models import Delivery, OutboxActivity
    from node.timeutil import utcnow

    async def main(url, shape, inboxes_json):
        inboxes = json.loads(inboxes_json)
        await db.open_database(url)
        try:
            key = uuid.uuid4()
            origin = "https://nabuur.example"
            uri = f"{origin}/activities/{key}"
            note = f"{origin}/r/{key}"
            paragraph = (
                "<p>Our street is organising a repair café on Saturday morning in the "
                "community centre. Bring a broken lamp, a bike with a flat tyre or a jumper "
                "with a hole in it: neighbours with tools and patience will help you fix it, "
                "and there is coffee and cake for everyone who comes along.</p>"
            )
            payload = {
                "@context": ["https://www.w3.org/ns/activitystreams",
                             {"Hashtag": "as:Hashtag", "sensitive": "as:sensitive"}],
                "id": uri, "type": "Create", "actor": f"{origin}/actor",
                "published": "2026-11-20T10:00:00Z",
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "cc": [f"{origin}/actor/followers"],
                "object": {
                    "id": note, "type": "Note", "attributedTo": f"{origin}/actor",
                    "url": note, "published": "2026-11-20T10:00:00Z", "sensitive": False,
                    "summary": f"Repair café this Saturday ({shape})",
                    "content": paragraph * 4,
                    "to": ["https://www.w3.org/ns/activitystreams#Public"],
                    "cc": [f"{origin}/actor/followers"],
                    "tag": [{"type": "Hashtag", "href": f"{origin}/tags/{t}", "name": f"#{t}"}
                            for t in ("repair", "neighbours", "saturday")],
                },
            }
            async with db.atomic():  # as the outbox does: rows and NOTIFY in one commit
                activity = await OutboxActivity.create(
                    id=key, activity_uri=uri, activity_type="Create", actor_kind="instance",
                    actor_key=None, payload=payload, object_uri=note, public=True,
                )
                now = utcnow()
                await Delivery.bulk_create([
                    Delivery(activity=activity, inbox=inbox, host=inbox.split("/")[2],
                             next_attempt_at=now)
                    for inbox in inboxes
                ])
                await queue_signals.notify(queue_signals.DELIVERIES)
            print(json.dumps({"committed": time.time(), "bytes": len(json.dumps(payload))}))
        finally:
            await db.close_database()

    asyncio.run(main(*sys.argv[1:4]))
    """
)

STATUS_SQL = "SELECT status, count(*) FROM deliveries GROUP BY status"


async def delivery_statuses(backend: str, url: str) -> dict[str, int]:
    if backend == "sqlite":
        path = url.removeprefix("sqlite://")

        def read() -> list[tuple]:
            with contextlib.closing(sqlite3.connect(path)) as conn:
                return conn.execute(STATUS_SQL).fetchall()

        rows = await asyncio.to_thread(read)
    else:
        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            rows = [tuple(r) for r in await conn.fetch(STATUS_SQL)]
        finally:
            await conn.close()
    return {str(s): int(n) for s, n in rows}


async def instance_public_key(backend: str, url: str) -> str:
    sql = "SELECT public_key_pem FROM node_settings WHERE id = 1"
    if backend == "sqlite":
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite://"))) as conn:
            row = conn.execute(sql).fetchone()
        pem = row[0] if row else None
    else:
        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            pem = await conn.fetchval(sql)
        finally:
            await conn.close()
    if not pem:
        raise RuntimeError("the node has no instance public key after `nabuur init`")
    return str(pem)


# --- one shape ----------------------------------------------------------------------------


@dataclass
class ShapeResult:
    backend: str
    shape: str
    expected: int
    payload_bytes: int
    committed: float
    first: float | None
    last: float | None
    verified: int
    distinct: int
    failed: int
    receiver_errors: dict[str, int]
    rows: dict[str, int]  # delivery rows of this shape by status
    rows_done_at: float
    worker_cpu: float
    loop_cpu: float
    receivers_cpu: float
    machine_busy: float  # CPU seconds of all cores, every process, over busy_span
    busy_span: float
    peak_rss_kb: int
    profile: str = ""

    @property
    def target(self) -> float | None:
        """The fan-out time to meet: the sustained shape is judged on its rate only."""
        return {"shared": TARGET_SHARED_SECONDS, "personal": TARGET_PERSONAL_SECONDS}.get(
            self.shape
        )

    @property
    def complete(self) -> bool:
        return self.distinct >= self.expected and self.rows.get("sent", 0) >= self.expected

    @property
    def pickup(self) -> float:
        return (self.first or float("nan")) - self.committed

    @property
    def fanout(self) -> float:
        """First to last verified arrival: the sending itself."""
        if self.first is None or self.last is None:
            return float("nan")
        return self.last - self.first

    @property
    def total(self) -> float:
        return (self.last or float("nan")) - self.committed

    @property
    def rate(self) -> float:
        """Verified deliveries per second of fan-out (from the first arrival)."""
        if not self.complete or self.fanout <= 0:
            return 0.0
        # n arrivals span n-1 gaps; the first one's own send time is not in `fanout`
        return (self.verified - 1) / self.fanout

    @property
    def cpu_per_delivery(self) -> float:
        """Worker CPU milliseconds per delivery: comparable on a busy machine."""
        return 1000 * self.worker_cpu / max(self.expected, 1)

    @property
    def busy_cores(self) -> float:
        """How many of the machine's cores were busy during the fan-out, on average."""
        return self.machine_busy / self.busy_span if self.busy_span > 0 else float("nan")

    @property
    def failures(self) -> int:
        not_sent = sum(n for s, n in self.rows.items() if s != "sent")
        return self.failed + not_sent

    def table(self) -> str:
        rows = [
            ("deliveries", f"{self.expected} ({self.payload_bytes} B activity, signed each)"),
            (
                "verified at receivers",
                f"{self.verified} ({self.distinct} distinct inboxes)"
                + ("" if self.complete else "  INCOMPLETE"),
            ),
            ("deliveries/s", f"{self.rate:,.0f} (first to last arrival)"),
            (
                "time to last inbox",
                f"{self.fanout:.3f} s from the first arrival; {self.total:.3f} s from the commit "
                f"(pick-up {self.pickup:.3f} s: "
                + ("the worker polls every 0.5 s)" if self.backend == "sqlite" else "NOTIFY)"),
            ),
            ("rows all updated", f"{self.rows_done_at - self.committed:.3f} s after the commit"),
            (
                "worker CPU",
                f"{self.worker_cpu:.2f} s: {self.cpu_per_delivery:.2f} ms per delivery, of "
                f"which {1000 * self.loop_cpu / max(self.expected, 1):.2f} ms on the event "
                "loop (the rest: signing threads, SQLite's thread)",
            ),
            (
                "receivers CPU",
                f"{1000 * self.receivers_cpu / max(self.expected, 1):.2f} ms per delivery",
            ),
            (
                "machine",
                f"{self.busy_cores:.2f} of {os.cpu_count()} cores busy from the commit to "
                "the last row written (every process: worker, receivers, database, others)",
            ),
            ("worker peak RSS", f"{self.peak_rss_kb / 1024:.1f} MiB (VmHWM, reset before)"),
            (
                "failures",
                f"{self.failed} refused at receivers, delivery rows "
                + ", ".join(f"{k}: {v}" for k, v in sorted(self.rows.items())),
            ),
        ]
        width = max(len(k) for k, _ in rows)
        lines = [f"== {self.backend}, {self.shape} inboxes =="]
        lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
        lines += [f"  receiver error: {k} x{v}" for k, v in self.receiver_errors.items()]
        if self.profile:
            lines += ["  py-spy profile of the worker:", self.profile]
        return "\n".join(lines)

    def verdict(self) -> str:
        target = self.target
        ok_time = self.complete and (target is None or self.fanout <= target)
        # The rate is judged on personal inboxes; 100 shared ones are too few to say.
        ok_rate = self.shape == "shared" or self.rate >= TARGET_RATE
        ok_err = self.failures == 0
        mark = "PASS" if ok_time and ok_rate and ok_err else "MISS"
        judged = "" if target is None else f" ({'ok' if ok_time else 'over'} {target} s"
        return (
            f"{mark} {self.backend:8} {self.shape:9} {self.expected:5} deliveries: "
            f"last inbox after {self.fanout:.3f} s{judged}"
            f"{'' if target is None else ';'} {self.total:.2f} s incl. pick-up"
            f"{'' if target is None else ')'}, {self.rate:,.0f}/s "
            f"({'n/a' if self.shape == 'shared' else 'ok' if ok_rate else 'below'} "
            f"{TARGET_RATE:,.0f}), worker CPU {self.cpu_per_delivery:.2f} ms/delivery, "
            f"{self.busy_cores:.1f} cores busy, RSS {self.peak_rss_kb / 1024:.0f} MiB, "
            f"failures {self.failures}"
        )


def inboxes_for(shape: str, ports: list[int], followers: int) -> list[str]:
    if shape == "shared":
        return [f"http://127.0.0.1:{p}/inbox" for p in ports]
    return [f"http://127.0.0.1:{ports[n % len(ports)]}/users/{n}/inbox" for n in range(followers)]


def shapes_of(args: argparse.Namespace) -> list[tuple[str, int]]:
    """(shape, followers) in the order they run."""
    shapes = [("shared", args.hosts)] + [("personal", args.followers)] * args.rounds
    if args.sustained:
        shapes.append(("sustained", args.sustained))
    return shapes


async def run_shape(
    shape: str,
    followers: int,
    backend: str,
    url: str,
    env: dict[str, str],
    receivers: Receivers,
    worker: subprocess.Popen[bytes],
    session: aiohttp.ClientSession,
    args: argparse.Namespace,
    before: dict[str, int],
) -> ShapeResult:
    inboxes = inboxes_for(shape, receivers.ports, followers)
    await receivers.reset(session)
    reset_peak_rss(worker.pid)
    spy = None
    profile_path = args.py_spy / f"fanout-{backend}-{shape}.txt" if args.py_spy else None
    if profile_path is not None:
        spy = start_py_spy(worker.pid, profile_path)
        await asyncio.sleep(1.0)
    cpu0, loop0 = cpu_seconds(worker.pid), loop_thread_cpu(worker.pid)
    receivers0 = cpu_seconds(receivers.proc.pid)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", QUEUE_SCRIPT, url, shape, json.dumps(inboxes)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"queueing failed:\n{done.stderr}")
    queued = json.loads(done.stdout.strip().splitlines()[-1])
    committed = float(queued["committed"])
    # From just after the commit (the queueing process's start-up is not the fan-out's).
    busy0, busy_since = machine_busy_seconds(), time.time()
    # wait until every inbox has it and the worker has written every row back
    last_change, last_seen = time.monotonic(), None
    while True:
        stats = await receivers.stats(session)
        rows = await delivery_statuses(backend, url)
        mine = {s: n - before.get(s, 0) for s, n in rows.items() if n - before.get(s, 0)}
        if mine.get("pending", 0) == 0 and sum(mine.values()) >= len(inboxes):
            break
        seen = (stats["verified"], stats["failed"], tuple(sorted(mine.items())))
        if seen != last_seen:
            last_change, last_seen = time.monotonic(), seen
        elif time.monotonic() - last_change > STALL_SECONDS:
            print(f"   {shape}: no progress for {STALL_SECONDS:.0f} s, giving up", flush=True)
            break
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited ({worker.returncode})")
        await asyncio.sleep(POLL_SECONDS)
    rows_done_at = time.time()
    worker_cpu = cpu_seconds(worker.pid) - cpu0
    loop_cpu = loop_thread_cpu(worker.pid) - loop0
    receivers_cpu = cpu_seconds(receivers.proc.pid) - receivers0
    machine_busy = machine_busy_seconds() - busy0
    busy_span = time.time() - busy_since
    peak = proc_status(worker.pid).get("VmHWM", 0)
    stats = await receivers.stats(session)
    profile = ""
    if spy is not None and profile_path is not None:
        stop_py_spy(spy)
        profile = summarise_profile(profile_path)
    before.update(rows)
    return ShapeResult(
        backend=backend,
        shape=shape,
        expected=len(inboxes),
        payload_bytes=int(queued["bytes"]),
        committed=committed,
        first=stats["first"],
        last=stats["last"],
        verified=stats["verified"],
        distinct=stats["distinct"],
        failed=stats["failed"],
        receiver_errors=stats["errors"],
        rows=mine,
        rows_done_at=rows_done_at,
        worker_cpu=worker_cpu,
        loop_cpu=loop_cpu,
        receivers_cpu=receivers_cpu,
        machine_busy=machine_busy,
        busy_span=busy_span,
        peak_rss_kb=peak,
        profile=profile,
    )


# --- one backend --------------------------------------------------------------------------


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def start_worker(nabuur: str, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [nabuur, "worker"], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
        )


async def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> list[ShapeResult]:
    print(f"-- {backend}: nabuur init, receivers on {args.hosts} ports, worker", flush=True)
    pg_name: str | None = None
    if backend == "sqlite":
        url = f"sqlite://{workdir / f'fanout-{backend}.sqlite3'}"
    else:
        pg_name = f"nabuur_fanout_{os.getpid()}_{secrets.token_hex(3)}"
        await pg_admin(args.pg_admin, f'CREATE DATABASE "{pg_name}"')
        url = args.pg_admin.rsplit("/", 1)[0] + "/" + pg_name
    env = node_env(
        NABUUR_DATABASE_URL=url,
        NABUUR_ADMIN_PASSWORD=secrets.token_urlsafe(18),
        PYTHONPATH=str(REPO),
    )
    receivers: Receivers | None = None
    worker: subprocess.Popen[bytes] | None = None
    log_path = workdir / f"worker-{backend}.log"
    try:
        nabuur = str(VENV_BIN / "nabuur")
        await asyncio.to_thread(
            run_checked, [nabuur, "init", "--admin-username", "admin"], env, "nabuur init"
        )
        key_file = workdir / f"instance-{backend}.pem"
        key_file.write_text(await instance_public_key(backend, url))
        receivers = Receivers(key_file, args.hosts, env)
        worker = start_worker(nabuur, env, log_path)
        await asyncio.sleep(args.settle)  # start-up, then idle: not measured
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{log_path.read_text(errors='replace')}")
        startup_peak = proc_status(worker.pid).get("VmHWM", 0)
        print(f"   worker up (start-up peak RSS {startup_peak / 1024:.1f} MiB)", flush=True)
        before = await delivery_statuses(backend, url)
        results = []
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for shape, followers in shapes_of(args):
                result = await run_shape(
                    shape, followers, backend, url, env, receivers, worker, session, args, before
                )
                print(result.table(), flush=True)
                results.append(result)
        return results
    finally:
        stop_process(worker)
        if receivers is not None:
            receivers.stop()
        if pg_name is not None:
            await pg_admin(args.pg_admin, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Fan-out of one activity by a real `nabuur worker` to followers on "
        "loopback receivers that verify every signature: shared inboxes (one per host) and "
        f"personal inboxes. Targets: shared within {TARGET_SHARED_SECONDS} s, personal within "
        f"{TARGET_PERSONAL_SECONDS} s, {TARGET_RATE:,.0f} signed deliveries/s."
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgres", "both"), default="both", help="default both"
    )
    parser.add_argument("--hosts", type=int, default=100, help="receiving hosts (default 100)")
    parser.add_argument(
        "--followers", type=int, default=1000, help="followers, personal inboxes (default 1000)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="times the personal shape runs (default 1)"
    )
    parser.add_argument(
        "--sustained",
        type=int,
        default=4000,
        help="followers of the sustained shape (default 4000; 0 leaves it out)",
    )
    parser.add_argument(
        "--pg-admin",
        default=os.environ.get(
            "NABUUR_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL URL to create and drop the benchmark database with",
    )
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds to let the worker start (default 3)"
    )
    parser.add_argument(
        "--py-spy", type=Path, metavar="DIR", help="sample the worker with py-spy per shape"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    if args.hosts < 1 or args.followers < 1 or args.rounds < 1 or args.sustained < 0:
        parser.error("--hosts, --followers and --rounds must be positive")
    if args.py_spy:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    per_backend, failed = run_backends(
        backends,
        "nabuur-fanout-",
        args.keep,
        lambda backend, workdir: asyncio.run(run_backend(backend, args, workdir)),
    )
    results: list[ShapeResult] = [result for shapes in per_backend for result in shapes]
    if results:
        print()
        print(f"hosts={args.hosts} followers={args.followers} cores={os.cpu_count()}")
        for result in results:
            print(result.verdict())
        for backend in backends:
            rounds = [r for r in results if r.backend == backend and r.shape == "personal"]
            if len(rounds) > 1:
                print(
                    f"median  {backend:8} personal  over {len(rounds)} rounds: last inbox after "
                    f"{statistics.median(r.fanout for r in rounds):.3f} s, "
                    f"{statistics.median(r.rate for r in rounds):,.0f}/s, worker CPU "
                    f"{statistics.median(r.cpu_per_delivery for r in rounds):.2f} ms/delivery"
                )
    return 1 if failed or any(r.failures or not r.complete for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
