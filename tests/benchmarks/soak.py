"""Soak: minutes of mixed load on PostgreSQL with 2 web and 2 worker processes.

Run by hand from the repository root (it is not part of the test suite)::

    .venv/bin/python -m tests.benchmarks.soak --minutes 10

It creates a fresh PostgreSQL database (dropped at the end), runs `nabuur migrate` and
`nabuur init`, adds a neighbourhood with `nabuur neighbourhood add`, and starts a receiver
process (tests/benchmarks/soak_receivers.py: `--followers` remote actors on `--hosts`
loopback ports, the first `--shared-hosts` with a shared inbox, plus `--actors` repliers),
two `nabuur run` processes on two ports (NABUUR_RUN_WORKERS=0) and two `nabuur worker`
processes, all with NABUUR_ALLOW_PRIVATE_ADDRESSES=1. Set-up, through HTTP only: the admin
logs in and publishes `--posts` requests; every follower sends a signed Follow of the
neighbourhood and the script waits for every Accept to reach the receivers.

Then, for `--minutes`: signed Create(Note) replies to those requests at `--reply-rate`/s,
alternating between the two web processes; anonymous page views (home, neighbourhood,
request pages, both processes) at `--page-rate`/s; and a new request published through the
web every `--publish-every` s, which the node announces to every follower's inbox. The
receivers verify each delivery's signature with the key the node serves and record it.
RSS (and CPU) of every process and the queue depths are sampled every `--sample-every` s.

Afterwards it waits up to `--drain` s for the queues to empty and prints, per channel
(inbox, pages, publish, fan-out), answers by status class and p50/p99; replies answered 202
but not stored; deliveries expected, verified, missing and duplicated; items left in the
queues; and RSS per process with its least-squares slope. It exits 1 when a target is
missed: a 5xx or an unanswered request, a 202 reply not stored, a delivery missing or
refused by the receivers, a duplicate beyond `--max-duplicates`, a queue not empty after
the drain, a node process that died, or (runs of 5 minutes or more) a node process whose
RSS rises faster than `--max-rss-slope` MB/min over the second half of the run.

Only the CLI, HTTP and the database tables are used, so it runs whatever the workers do
inside. The database, the processes and the work directory go on exit, also on Ctrl+C or
SIGTERM (`--keep` keeps the work directory with every process's log).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script: make `tests.benchmarks` importable
    sys.path.insert(0, str(REPO))

from tests.benchmarks.inbox import (  # noqa: E402
    NodeProcess,
    PostgresProbe,
    RemoteActors,
    free_port,
    load_keys,
    node_env,
    pg_admin,
    run_backends,
    run_checked,
    send_all,
)
from tests.benchmarks.soak_load import (  # noqa: E402
    REQUEST_TIMEOUT,
    Publisher,
    Replies,
    follow_requests,
    page_views,
)
from tests.benchmarks.soak_measures import log_summary  # noqa: E402
from tests.benchmarks.soak_receivers import Layout, Receivers  # noqa: E402
from tests.benchmarks.soak_report import Run, print_report  # noqa: E402

VENV_BIN = Path(sys.executable).parent
HOOD = "soak"
ADMIN = "soakadmin"
SETUP_SECONDS = 180.0  # for every follow to be accepted


class Node:
    """The node's processes: two web, two workers, on one database."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.ports = [free_port(), free_port()]
        self.base_url = f"http://127.0.0.1:{self.ports[0]}"
        self.password = secrets.token_urlsafe(18)
        self.env = node_env(
            NABUUR_DATABASE_URL=url, NABUUR_BASE_URL=self.base_url, PYTHONPATH=str(REPO)
        )
        nabuur = str(VENV_BIN / "nabuur")
        web_env = self.env | {"NABUUR_RUN_WORKERS": "0"}
        self.webs = [
            NodeProcess([nabuur, "run", "--port", str(p)], web_env, workdir / f"web-{i}.log", p)
            for i, p in enumerate(self.ports, 1)
        ]
        self.workers = [
            NodeProcess([nabuur, "worker"], self.env, workdir / f"worker-{i}.log", 0)
            for i in (1, 2)
        ]
        self.nabuur = nabuur

    @property
    def processes(self) -> dict[str, NodeProcess]:
        named = {f"web-{i} :{w.port}": w for i, w in enumerate(self.webs, 1)}
        return named | {f"worker-{i}": w for i, w in enumerate(self.workers, 1)}

    def set_up(self) -> None:
        run_checked([self.nabuur, "migrate"], self.env, "nabuur migrate")
        init_env = self.env | {"NABUUR_ADMIN_PASSWORD": self.password}
        run_checked([self.nabuur, "init", "--admin-username", ADMIN], init_env, "nabuur init")
        add = [self.nabuur, "neighbourhood", "add", "--name", "Soak Centre", "--commune"]
        add += ["Jette", "--centre", "50.878,4.325", "--radius", "1500", HOOD]
        run_checked(add, self.env, "nabuur neighbourhood add")

    async def start(self, session: aiohttp.ClientSession) -> None:
        for process in [*self.webs, *self.workers]:
            process.start()
        for web in self.webs:
            await web.wait_healthy(session)

    def exited(self) -> dict[str, int]:
        return {
            name: p.proc.returncode
            for name, p in self.processes.items()
            if p.proc is not None and p.proc.poll() is not None
        }

    def stop(self) -> None:
        for process in [*self.webs, *self.workers]:
            process.stop()


async def wait_followers(
    node: Node, probe: PostgresProbe, receivers: Receivers, session: aiohttp.ClientSession
) -> None:
    """Until every Follow is accepted and its Accept verified at a receiver."""
    followers = receivers.layout.followers
    sql = (
        "SELECT count(*) FROM follows f JOIN neighbourhoods n ON n.id = f.neighbourhood_id "
        f"WHERE n.slug = '{HOOD}' AND f.status = 'accepted'"
    )
    deadline = asyncio.get_running_loop().time() + SETUP_SECONDS
    while True:
        accepted = int(await probe.scalar(sql) or 0)
        got = await receivers.collect(session)
        accepts = sum(1 for r in got["records"] if r[3] == "Accept")
        if accepted >= followers and accepts >= followers:
            return
        if exited := node.exited():
            raise RuntimeError(f"set-up: node processes exited: {exited} (--keep: see logs)")
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(
                f"set-up: {accepted}/{followers} follows accepted, {accepts} Accepts verified "
                f"after {SETUP_SECONDS:.0f} s (receivers refused: {got['failures']})"
            )
        await asyncio.sleep(1.0)


async def watch(node: Node, run: Run) -> None:
    """Note node processes that die during the run."""
    while True:
        run.exits |= node.exited()
        await asyncio.sleep(1.0)


async def soak(args: argparse.Namespace, workdir: Path) -> Run:
    layout = Layout(args.followers, args.hosts, args.shared_hosts, args.actors)
    keys = await asyncio.to_thread(load_keys, args.actors)  # cached before the receivers read
    name = f"nabuur_soak_{os.getpid()}_{secrets.token_hex(3)}"
    url = args.pg_admin.rsplit("/", 1)[0] + "/" + name
    await pg_admin(args.pg_admin, f'CREATE DATABASE "{name}"')
    node = Node(url, workdir)
    receivers: Receivers | None = None
    probe: PostgresProbe | None = None
    publisher = Publisher([w.url for w in node.webs], node.base_url, HOOD)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so that the
    # server closing one as it is reused (a client-side race) is not counted as a failure.
    connector = aiohttp.TCPConnector(limit=256, limit_per_host=256, keepalive_timeout=3.0)
    try:
        print(f"-- database {name}: migrate, init, neighbourhood; starting processes", flush=True)
        await asyncio.to_thread(node.set_up)
        receivers = Receivers(layout, node.env, workdir / "receivers.log")
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await node.start(session)
            probe = await PostgresProbe.connect(url)
            print(f"-- set-up: {args.posts} requests, {args.followers} followers", flush=True)
            await publisher.login(ADMIN, node.password)
            for n in range(args.posts):
                await publisher.publish(n, 0.0)
            posts = [p.note for p in publisher.published]
            if len(posts) != args.posts:
                raise RuntimeError(f"publishing failed: {dict(publisher.channel.statuses)}")
            hood = f"{node.base_url}/n/{HOOD}"
            follows = await asyncio.to_thread(
                follow_requests, layout, receivers.ports, keys, hood, f"{hood}/inbox"
            )
            sent = await send_all(session, f"{hood}/inbox", follows, 16)
            if sent.accepted != len(follows):
                raise RuntimeError(f"follows refused: {dict(sent.statuses)}")
            await wait_followers(node, probe, receivers, session)
            publisher.published.clear()  # from here on, every request must reach everyone
            publisher.channel.statuses.clear()
            publisher.channel.latencies.clear()

            run = Run(args=args, layout=layout, ports=receivers.ports, posts=len(posts))
            actors = RemoteActors(receivers.repliers, keys)
            replies = Replies(actors, [w.url for w in node.webs], posts, secrets.token_hex(4))
            pids = {n: p.pid for n, p in node.processes.items()}
            pids |= {"receivers": receivers.pid, "load generator": os.getpid()}
            sampler = run.sampler = run.make_sampler(probe, pids)
            seconds = args.minutes * 60
            paths = ["/", f"/n/{HOOD}", *(p.removeprefix(node.base_url) for p in posts)]
            page_urls = [f"{w.url}{path}" for w in node.webs for path in paths]
            print(f"-- load for {args.minutes:g} min", flush=True)
            watcher = asyncio.create_task(watch(node, run))
            try:
                _, run.pages, _, _ = await asyncio.gather(
                    replies.run(session, args.reply_rate, seconds),
                    page_views(
                        page_urls,
                        args.page_rate,
                        seconds,
                        workdir,
                        node.env,
                        lambda pid: pids.update({"page views": pid}),
                    ),
                    publisher.every(args.publish_every, seconds, first=args.posts),
                    sampler.run(seconds),
                )
                print(f"-- draining (up to {args.drain:g} s)", flush=True)
                run.drained_after, run.left = await run.drain(probe, args.drain)
            finally:
                watcher.cancel()
            run.exits |= node.exited()
            await run.collect(probe, session, receivers, replies, publisher)
            logs = {n: p.log_path for n, p in node.processes.items()}
            logs["receivers"] = workdir / "receivers.log"
            run.logs = {n: s for n, path in logs.items() if (s := log_summary(path))}
            return run
    finally:
        await publisher.close()
        node.stop()
        if receivers is not None:
            receivers.stop()
        if probe is not None:
            await probe.close()
        await pg_admin(args.pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Soak a Nabuur node on PostgreSQL (2 web + 2 worker processes) with "
        "signed inbox replies, page views and requests fanned out to followers; exits 1 "
        "when a target is missed."
    )
    p.add_argument("--minutes", type=float, default=10.0, help="load duration (default 10)")
    p.add_argument("--reply-rate", type=float, default=20.0, help="replies/s (default 20)")
    p.add_argument("--page-rate", type=float, default=10.0, help="page views/s (default 10)")
    p.add_argument(
        "--publish-every", type=float, default=20.0, help="seconds between requests (20)"
    )
    p.add_argument("--followers", type=int, default=300, help="of the neighbourhood (300)")
    p.add_argument("--hosts", type=int, default=12, help="servers they live on (12)")
    p.add_argument("--shared-hosts", type=int, default=4, help="of which with a shared inbox (4)")
    p.add_argument("--actors", type=int, default=50, help="repliers, and the key pool (50)")
    p.add_argument("--posts", type=int, default=3, help="requests the replies answer (3)")
    p.add_argument("--sample-every", type=float, default=30.0, help="RSS sampling, s (30)")
    p.add_argument("--drain", type=float, default=60.0, help="max wait for queues, s (60)")
    p.add_argument(
        "--max-duplicates", type=int, default=0, help="deliveries allowed twice (default 0)"
    )
    p.add_argument(
        "--max-rss-slope", type=float, default=1.0, help="MB/min, second half (default 1.0)"
    )
    p.add_argument(
        "--pg-admin",
        default=os.environ.get(
            "NABUUR_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL URL to create and drop the soak database with",
    )
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = p.parse_args(argv)
    positive = ("minutes", "reply_rate", "page_rate", "publish_every", "followers", "hosts")
    positive += ("actors", "posts", "sample_every")
    for name in positive:
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if not 0 <= args.shared_hosts <= args.hosts or args.followers < args.hosts:
        p.error("need 0 <= --shared-hosts <= --hosts <= --followers")
    if args.drain < 0 or args.max_duplicates < 0:
        p.error("--drain and --max-duplicates cannot be negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs, failed = run_backends(
        ("postgres",), "nabuur-soak-", args.keep, lambda _, wd: asyncio.run(soak(args, wd))
    )
    if not runs:
        print("soak stopped: no figures (the database and the processes are gone)", file=sys.stderr)
    missed = [print_report(run) for run in runs]
    return 1 if failed or not runs or any(missed) else 0


if __name__ == "__main__":
    sys.exit(main())
