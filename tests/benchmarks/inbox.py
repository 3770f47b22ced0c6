"""Inbox throughput of a real node: signed Create(Note) replies to the shared inbox.

Run by hand from the repository root (it is not part of the test suite)::

    .venv/bin/python tests/benchmarks/inbox.py --n 5000 --backend both --workers 1 2

For each backend and each number of node processes (`--workers`, default 1 and 2) it
starts a node (`nabuur demo` on a fresh SQLite file; `nabuur init`, the demo seed and
`nabuur run` on a fresh PostgreSQL database, dropped afterwards), and in this process a
load generator: an HTTP server on 127.0.0.1 serving `--actors` remote actors with
RSA-2048 keys (cached in /tmp/nabuur-bench-keys), and a client that POSTs `--n` distinct
signed Create(Note) replies to one of the node's public posts. Every request is signed
before the clock starts. A warm-up sends one activity per actor first, so the node has
fetched and stored every key ("keys cached") before the measured phase.

Printed per run: accepted/s (first send to last 202; a 202 means the item is stored),
processed/s (first send until the worker has finished every accepted item, polled in the
database every 50 ms), p50/p99 receipt latency, the node's peak RSS during the run (VmHWM,
reset after start-up), the CPU both processes used, the node's CPU per reply (the figure
to compare on a machine other work shares), and non-202 answers by status.
`--py-spy DIR` also samples the node with py-spy during the measured phase (install it with
`.venv/bin/pip install py-spy`) and prints where its CPU time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import aiohttp
import asyncpg
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from federation.signatures import sign_cavage

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
KEY_CACHE = Path(tempfile.gettempdir()) / "nabuur-bench-keys"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTIVITY_JSON = "application/activity+json"
TARGET_ACCEPTED = 2000.0  # per second, from the issue
TARGET_PROCESSED = 1000.0
POLL_SECONDS = 0.05
STALL_SECONDS = 60.0  # give up waiting for the worker after this long without progress
DONE_STATUSES = ("processed", "ignored", "rejected")  # the worker has finished with the item


# --- small helpers -------------------------------------------------------------------------


T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def family(pid: int) -> list[int]:
    """`pid` and its descendants (uvicorn's worker processes with --workers N)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM summed over a process and its children, in kB.

    With several processes the summed peaks are an upper bound of the peak of the sum.
    """
    values: dict[str, int] = {}
    for member in family(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                name, _, rest = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    values[name] = values.get(name, 0) + int(rest.split()[0])
    return values


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM (Linux >= 4.0), so start-up and seeding (argon2: 64 MiB) do not count."""
    try:
        for member in family(pid):
            Path(f"/proc/{member}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, its threads and its child processes."""
    total = 0
    for member in family(pid):
        try:
            fields_ = Path(f"/proc/{member}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields_[11]) + int(fields_[12])
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine spent not idle (PostgreSQL included)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def load_keys(count: int) -> list[RSAPrivateKey]:
    """RSA-2048 keys for the remote actors, generated once and kept in /tmp."""
    KEY_CACHE.mkdir(mode=0o700, exist_ok=True)
    keys = []
    for i in range(count):
        path = KEY_CACHE / f"u{i}.pem"
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            assert isinstance(key, RSAPrivateKey)
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(pem)
            tmp.chmod(0o600)
            tmp.replace(path)
        keys.append(key)
    return keys


# --- the remote actors (load generator, server side) --------------------------------------


@dataclass
class RemoteActors:
    origin: str
    keys: list[RSAPrivateKey]
    fetches: Counter[str] = field(default_factory=Counter)

    def actor_uri(self, i: int) -> str:
        return f"{self.origin}/users/u{i}"

    def document(self, i: int) -> dict:
        uri = self.actor_uri(i)
        pem = (
            self.keys[i]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )
        return {
            "@context": [
                "https://www.w3.org/ns/activitystreams",
                "https://w3id.org/security/v1",
            ],
            "id": uri,
            "type": "Person",
            "preferredUsername": f"u{i}",
            "name": f"Bench neighbour {i}",
            "inbox": f"{uri}/inbox",
            "outbox": f"{uri}/outbox",
            "followers": f"{uri}/followers",
            "endpoints": {"sharedInbox": f"{self.origin}/inbox"},
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": pem},
        }

    async def handle_actor(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.fetches[name] += 1
        if not name.startswith("u") or not name[1:].isdigit() or int(name[1:]) >= len(self.keys):
            return web.Response(status=404)
        return web.Response(
            body=orjson.dumps(self.document(int(name[1:]))), content_type=ACTIVITY_JSON
        )

    async def handle_inbox(self, request: web.Request) -> web.Response:
        await request.read()  # the node may deliver something back: accept and forget it
        return web.Response(status=202)

    async def start(self, port: int) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/users/{name}", self.handle_actor)
        app.router.add_post("/inbox", self.handle_inbox)
        app.router.add_post("/users/{name}/inbox", self.handle_inbox)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner


# --- the requests (load generator, client side) -------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedPost:
    body: bytes
    headers: dict[str, str]


def build_requests(
    actors: RemoteActors, inbox_url: str, post_url: str, indices: range, run_id: str
) -> list[SignedPost]:
    """Distinct signed Create(Note) replies; activity i comes from actor i mod M."""
    published = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    requests = []
    for i in indices:
        a = i % len(actors.keys)
        actor = actors.actor_uri(a)
        note_id = f"{actors.origin}/notes/{run_id}-{i}"
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{actors.origin}/activities/{run_id}-{i}",
            "type": "Create",
            "actor": actor,
            "published": published,
            "to": [PUBLIC],
            "cc": [f"{actor}/followers"],
            "object": {
                "id": note_id,
                "type": "Note",
                "attributedTo": actor,
                "inReplyTo": post_url,
                "content": f"<p>I can help with this on Saturday (benchmark reply {i}).</p>",
                "published": published,
                "url": note_id,
                "to": [PUBLIC],
                "cc": [f"{actor}/followers"],
            },
        }
        body = orjson.dumps(activity)
        headers = {"content-type": ACTIVITY_JSON, "accept": ACTIVITY_JSON}
        headers |= sign_cavage(
            method="POST",
            url=inbox_url,
            headers=headers,
            body=body,
            key_id=f"{actor}#main-key",
            private_key=actors.keys[a],
        )
        requests.append(SignedPost(body, headers))
    return requests


@dataclass
class SendResult:
    started: float
    last_accept: float | None
    finished: float
    latencies: list[float]  # seconds, every request that got an answer
    statuses: Counter[str]

    @property
    def accepted(self) -> int:
        return self.statuses["202"]


async def send_all(
    session: aiohttp.ClientSession, url: str, requests: list[SignedPost], concurrency: int
) -> SendResult:
    """POST every request with `concurrency` connections kept busy."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    last_accept: float | None = None
    queue: Iterator[SignedPost] = iter(requests)

    async def connection() -> None:
        nonlocal last_accept
        for request in queue:
            t0 = time.perf_counter()
            try:
                async with session.post(url, data=request.body, headers=request.headers) as r:
                    await r.read()
                    status = str(r.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                statuses[type(exc).__name__] += 1
                continue
            t1 = time.perf_counter()
            latencies.append(t1 - t0)
            statuses[status] += 1
            if status == "202":
                last_accept = t1

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(max(1, min(concurrency, len(requests))))))
    return SendResult(started, last_accept, time.perf_counter(), latencies, statuses)


# --- reading the node's database ----------------------------------------------------------

POST_QUERY = (
    "SELECT id FROM help_posts WHERE visibility = 'public' AND status = 'open' "
    "ORDER BY created_at LIMIT 1"
)
STATUS_QUERY = "SELECT status, count(*) FROM inbox_items GROUP BY status"
RESPONSES_QUERY = "SELECT count(*) FROM responses"


class Probe:
    """Read-only queries against the node's database, from this process."""

    async def close(self) -> None: ...

    async def scalar(self, sql: str) -> object:
        raise NotImplementedError

    async def rows(self, sql: str) -> list[tuple]:
        raise NotImplementedError

    async def statuses(self) -> Counter[str]:
        return Counter({str(s): int(n) for s, n in await self.rows(STATUS_QUERY)})

    async def done(self) -> int:
        counts = await self.statuses()
        return sum(counts[s] for s in DONE_STATUSES)


class SqliteProbe(Probe):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn: sqlite3.Connection | None = None

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def _rows(self, sql: str) -> list[tuple]:
        if self.conn is None:  # only once the node is up: `nabuur demo` recreates the file
            self.conn = sqlite3.connect(self.path, check_same_thread=False)
        return self.conn.execute(sql).fetchall()

    async def rows(self, sql: str) -> list[tuple]:
        return await asyncio.to_thread(self._rows, sql)

    async def scalar(self, sql: str) -> object:
        rows = await self.rows(sql)
        return rows[0][0] if rows else None


class PostgresProbe(Probe):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, url: str) -> PostgresProbe:
        return cls(await asyncpg.connect(url.replace("postgres://", "postgresql://", 1)))

    async def close(self) -> None:
        await self.conn.close()

    async def rows(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in await self.conn.fetch(sql)]

    async def scalar(self, sql: str) -> object:
        return await self.conn.fetchval(sql)


async def wait_done(probe: Probe, target: int, stall: float = STALL_SECONDS) -> tuple[float, int]:
    """Poll until `target` items are finished; (time it was seen, finished count)."""
    last_change, last = time.perf_counter(), -1
    while True:
        done = await probe.done()
        now = time.perf_counter()
        if done >= target:
            return now, done
        if done != last:
            last_change, last = now, done
        elif now - last_change > stall:
            return now, done
        await asyncio.sleep(POLL_SECONDS)


# --- the node process ---------------------------------------------------------------------


def node_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NABUUR_")}
    env |= {
        "NABUUR_LOG_LEVEL": "WARNING",
        "NABUUR_ALLOW_PRIVATE_ADDRESSES": "1",
        "PYTHONUNBUFFERED": "1",
    }
    return env | extra


class NodeProcess:
    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path, port: int) -> None:
        self.argv, self.env, self.log_path, self.port = argv, env, log_path, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
            )

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def wait_healthy(self, session: aiohttp.ClientSession, within: float = 120.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"the node exited ({self.proc.returncode}):\n{self.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(f"{self.url}/healthz") as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"the node did not become healthy:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def run_checked(argv: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


SEED_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from node import db
    from node.demo import seed

    async def main(url):
        await db.open_database(url)
        try:
            print(await seed())
        finally:
            await db.close_database()

    asyncio.run(main(sys.argv[1]))
    """
)


async def pg_admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url.replace("postgres://", "postgresql://", 1), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# --- py-spy -------------------------------------------------------------------------------


RAW_OUTPUT = ("--format", "raw", "-o")


def start_py_spy(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    exe = shutil.which("py-spy", path=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
    if exe is None:
        print("  py-spy not found: .venv/bin/pip install py-spy")
        return None
    return subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--rate",
            "200",
            *RAW_OUTPUT,
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_py_spy(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _frame_name(frame: str) -> str:
    """'receive (federation/inbox.py:95)' -> 'receive (federation/inbox.py)'."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rpartition(":")[0] or where.rstrip(")")
    for marker in ("site-packages/", str(REPO) + "/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def summarise_profile(path: Path, top: int = 18) -> str:
    """Inclusive and self share of samples per function, from py-spy's collapsed stacks."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    with contextlib.suppress(OSError):
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [_frame_name(f) for f in stack.split(";")[1:]]  # [0] names the process
            total += count
            for name in set(frames):
                inclusive[name] += count
            if frames:
                own[frames[-1]] += count
    if not total:
        return "  (no samples)"
    out = [f"  {total} samples at 200/s ({total / 200:.1f} s of CPU); inclusive:"]
    out += [f"    {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top)]
    out.append("  self:")
    out += [f"    {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    return "\n".join(out)


# --- one backend --------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    workers: int
    n: int
    send: SendResult
    processed_at: float
    finished: int
    expected: int
    statuses: Counter[str]
    responses: int
    peak_rss_kb: int
    startup_peak_kb: int
    node_cpu: float
    client_cpu: float
    machine_cpu: float
    done_when_sent: int  # items the worker had finished when the last answer came
    warmup_fetches: int
    profile: str = ""

    @property
    def elapsed_accept(self) -> float:
        end = self.send.last_accept or self.send.finished
        return end - self.send.started

    @property
    def accepted_per_s(self) -> float:
        return self.send.accepted / self.elapsed_accept if self.send.accepted else 0.0

    @property
    def elapsed_processed(self) -> float:
        return self.processed_at - self.send.started

    @property
    def complete(self) -> bool:
        return self.finished >= self.expected

    @property
    def processed_per_s(self) -> float:
        processed = self.statuses["processed"]
        return processed / self.elapsed_processed if self.complete else 0.0

    @property
    def drain_per_s(self) -> float:
        """Worker speed once receiving is over (no inbox requests competing)."""
        backlog = self.finished - self.done_when_sent
        seconds = self.processed_at - self.send.finished
        return backlog / seconds if backlog > 0 and seconds > 0 else float("nan")

    @property
    def cpu_ms_per_reply(self) -> float:
        """The node's CPU per finished item (receiving and processing), in milliseconds:
        the figure to compare on a busy machine, where rates depend on the neighbours."""
        return self.node_cpu * 1000.0 / self.finished if self.finished else float("nan")

    @property
    def errors(self) -> dict[str, int]:
        return {k: v for k, v in sorted(self.send.statuses.items()) if k != "202"}

    def table(self) -> str:
        lat = sorted(self.send.latencies)
        ms = 1000.0
        rows = [
            ("activities sent", f"{self.n}"),
            (
                "accepted (202)",
                f"{self.send.accepted} in {self.elapsed_accept:.2f} s = "
                f"{self.accepted_per_s:,.0f}/s",
            ),
            (
                "processed",
                f"{self.statuses['processed']} in {self.elapsed_processed:.2f} s = "
                f"{self.processed_per_s:,.0f}/s"
                + ("" if self.complete else f"  (INCOMPLETE: {self.finished}/{self.expected})"),
            ),
            ("responses stored", f"{self.responses} (new rows in `responses`)"),
            (
                "receipt latency",
                f"p50 {percentile(lat, 0.50) * ms:.1f} ms, p99 {percentile(lat, 0.99) * ms:.1f} "
                f"ms, max {(lat[-1] if lat else float('nan')) * ms:.1f} ms",
            ),
            (
                "node peak RSS",
                f"{self.peak_rss_kb / 1024:.1f} MiB during the run "
                f"(start-up and seeding peak {self.startup_peak_kb / 1024:.1f} MiB)",
            ),
            (
                "worker",
                f"{self.done_when_sent} finished while receiving; backlog of "
                f"{self.expected - self.done_when_sent} drained at {self.drain_per_s:,.0f}/s",
            ),
            (
                "CPU, measured phase",
                f"node {self.node_cpu / self.elapsed_processed:.0%} of a core, "
                f"load generator {self.client_cpu / self.elapsed_processed:.0%}, "
                f"whole machine {self.machine_cpu / self.elapsed_processed:.0%} of one core "
                f"(of {os.cpu_count()})",
            ),
            (
                "node CPU per reply",
                f"{self.cpu_ms_per_reply:.2f} ms ({self.node_cpu:.1f} s for {self.finished})",
            ),
            ("non-202 answers", ", ".join(f"{k}: {v}" for k, v in self.errors.items()) or "none"),
            ("inbox_items by status", ", ".join(f"{k}: {v}" for k, v in self.statuses.items())),
            ("actor fetches (warm-up)", f"{self.warmup_fetches}"),
        ]
        width = max(len(k) for k, _ in rows)
        lines = [f"== {self.label} =="]
        lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
        if self.profile:
            lines += ["  py-spy profile of the node, measured phase:", self.profile]
        return "\n".join(lines)

    @property
    def label(self) -> str:
        return f"{self.backend}, {self.workers} process{'es' if self.workers > 1 else ''}"

    def verdict(self) -> str:
        ok_a = self.accepted_per_s >= TARGET_ACCEPTED
        ok_p = self.processed_per_s >= TARGET_PROCESSED
        ok_e = not self.errors and self.complete
        mark = "PASS" if ok_a and ok_p and ok_e else "MISS"
        return (
            f"{mark} {self.label}: accepted {self.accepted_per_s:,.0f}/s "
            f"({'ok' if ok_a else 'below'} {TARGET_ACCEPTED:,.0f}), processed "
            f"{self.processed_per_s:,.0f}/s ({'ok' if ok_p else 'below'} "
            f"{TARGET_PROCESSED:,.0f}), errors {sum(self.errors.values())}, "
            f"{self.cpu_ms_per_reply:.2f} ms CPU/reply, peak RSS {self.peak_rss_kb / 1024:.0f} MiB"
            + ("" if self.complete else ", processing incomplete")
        )


async def start_node(
    backend: str, workdir: Path, port: int, admin_url: str, workers: int
) -> tuple[NodeProcess, Probe, str | None]:
    """Start a seeded node; returns it, a probe of its database, and the PG database name."""
    log_path = workdir / f"node-{backend}-{workers}.log"
    nabuur = str(VENV_BIN / "nabuur")
    name = None
    if backend == "sqlite":
        path = workdir / f"bench-{workers}.sqlite3"  # a fresh database for each run
        url = f"sqlite://{path}"
    else:
        name = f"nabuur_bench_{os.getpid()}_{secrets.token_hex(3)}"
        await pg_admin(admin_url, f'CREATE DATABASE "{name}"')
        url = admin_url.rsplit("/", 1)[0] + "/" + name
    env = node_env(NABUUR_DATABASE_URL=url, NABUUR_ADMIN_PASSWORD=secrets.token_urlsafe(18))
    await asyncio.to_thread(
        run_checked, [nabuur, "init", "--admin-username", "admin"], env, "nabuur init"
    )
    await asyncio.to_thread(
        run_checked, [sys.executable, "-c", SEED_SCRIPT, url], env, "seeding the demo data"
    )
    argv = [nabuur, "run", "--port", str(port), "--workers", str(workers)]
    node = NodeProcess(argv, env, log_path, port)
    node.start()
    if backend == "sqlite":
        return node, SqliteProbe(path), None
    return node, await PostgresProbe.connect(url), name


async def run_backend(
    backend: str, workers: int, args: argparse.Namespace, workdir: Path
) -> Result:
    print(f"-- {backend}, {workers} process(es): starting the node and the load generator")
    keys = await asyncio.to_thread(load_keys, args.actors)
    actor_port = free_port()
    actors = RemoteActors(f"http://127.0.0.1:{actor_port}", keys)
    runner = await actors.start(actor_port)
    node: NodeProcess | None = None
    probe: Probe | None = None
    pg_name: str | None = None
    spy: subprocess.Popen[bytes] | None = None
    connector = aiohttp.TCPConnector(limit=args.concurrency, limit_per_host=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=120, connect=10)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            node, probe, pg_name = await start_node(
                backend, workdir, free_port(), args.pg_admin, workers
            )
            await node.wait_healthy(session)
            startup_peak = proc_status(node.pid).get("VmHWM", 0)
            post_id = await probe.scalar(POST_QUERY)
            if post_id is None:
                raise RuntimeError("the seeded node has no open public post to reply to")
            post_url = f"{node.url}/r/{post_id}"
            inbox_url = f"{node.url}/inbox"
            run_id = secrets.token_hex(4)

            print(f"   signing {args.actors} + {args.n} requests (not timed)", flush=True)
            warmup = await asyncio.to_thread(
                build_requests, actors, inbox_url, post_url, range(args.actors), run_id
            )
            requests = await asyncio.to_thread(
                build_requests,
                actors,
                inbox_url,
                post_url,
                range(args.actors, args.actors + args.n),
                run_id,
            )

            print("   warm-up: one activity per actor, so every key is fetched", flush=True)
            sent = await send_all(session, inbox_url, warmup, args.concurrency)
            if sent.accepted != len(warmup):
                raise RuntimeError(f"warm-up refused: {dict(sent.statuses)}\n{node.log_tail()}")
            _, done = await wait_done(probe, len(warmup), stall=30.0)
            if done < len(warmup):
                raise RuntimeError(f"warm-up not processed ({done}/{len(warmup)})")
            baseline = await probe.done()
            baseline_statuses = await probe.statuses()
            baseline_responses = int(await probe.scalar(RESPONSES_QUERY) or 0)
            warmup_fetches = sum(actors.fetches.values())

            if not reset_peak_rss(node.pid):
                print("   (cannot reset VmHWM: the peak includes start-up)")
            if args.py_spy:
                spy = start_py_spy(node.pid, args.py_spy / f"inbox-{backend}-{workers}.txt")
                await asyncio.sleep(1.0)  # let py-spy attach before the clock starts
            print(f"   measuring: {args.n} activities, {args.concurrency} connections", flush=True)
            node_cpu0, client_cpu0 = cpu_seconds(node.pid), time.process_time()
            machine_cpu0 = machine_busy_seconds()
            sent = await send_all(session, inbox_url, requests, args.concurrency)
            done_when_sent = await probe.done() - baseline
            processed_at, done = await wait_done(probe, baseline + sent.accepted)
            node_cpu = cpu_seconds(node.pid) - node_cpu0
            client_cpu = time.process_time() - client_cpu0
            machine_cpu = machine_busy_seconds() - machine_cpu0
            peak = proc_status(node.pid).get("VmHWM", 0)
            profile = ""
            if spy is not None:
                stop_py_spy(spy)
                spy = None
                profile = summarise_profile(args.py_spy / f"inbox-{backend}-{workers}.txt")
            statuses = await probe.statuses() - baseline_statuses  # without the warm-up
            responses = int(await probe.scalar(RESPONSES_QUERY) or 0) - baseline_responses
            return Result(
                backend=backend,
                workers=workers,
                n=args.n,
                send=sent,
                processed_at=processed_at,
                finished=done - baseline,
                expected=sent.accepted,
                statuses=statuses,
                responses=responses,
                peak_rss_kb=peak,
                startup_peak_kb=startup_peak,
                node_cpu=node_cpu,
                client_cpu=client_cpu,
                machine_cpu=machine_cpu,
                done_when_sent=done_when_sent,
                warmup_fetches=warmup_fetches,
                profile=profile,
            )
    finally:
        stop_py_spy(spy)
        if node is not None:
            node.stop()
        if probe is not None:
            await probe.close()
        await runner.cleanup()
        if pg_name is not None:
            await pg_admin(args.pg_admin, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Inbox throughput of a real Nabuur node: signed Create(Note) replies to "
        "the shared inbox, on SQLite and/or PostgreSQL. Targets: "
        f"{TARGET_ACCEPTED:,.0f} accepted/s and {TARGET_PROCESSED:,.0f} processed/s."
    )
    parser.add_argument("--n", type=int, default=5000, help="activities to send (default 5000)")
    parser.add_argument(
        "--actors", type=int, default=50, help="distinct remote actors/keys (default 50)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=64, help="open connections to the node (default 64)"
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgres", "both"), default="both", help="default both"
    )
    parser.add_argument(
        "--pg-admin",
        default=os.environ.get(
            "NABUUR_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL URL to create and drop the benchmark database with",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="sample the node with py-spy during the measured phase; raw stacks go to DIR",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="node server processes (`nabuur run --workers`), one run each (default: 1 2)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    if args.n < 1 or args.actors < 1 or args.concurrency < 1 or min(args.workers) < 1:
        parser.error("--n, --actors, --concurrency and --workers must be positive")
    if args.py_spy:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    return args


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so that `timeout` or `kill` still stops the node and drops the DB


def run_backends(
    backends: Iterable[str],
    prefix: str,
    keep: bool,
    run: Callable[[str, Path], T],
) -> tuple[list[T], bool]:
    """`run(backend, workdir)` for each backend in a temporary work directory.

    Returns the results and whether anything failed; a backend that raises is reported
    and skipped, SIGTERM stops the run like Ctrl+C, and the directory goes unless `keep`.
    """
    signal.signal(signal.SIGTERM, _interrupted)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    results: list[T] = []
    failed = False
    try:
        for backend in backends:
            try:
                results.append(run(backend, workdir))
            except (RuntimeError, OSError, sqlite3.Error, asyncpg.PostgresError) as exc:
                print(f"!! {backend}: {exc}", file=sys.stderr)
                failed = True
    except KeyboardInterrupt:
        failed = True
    finally:
        if keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return results, failed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    runs = [f"{backend}:{workers}" for backend in backends for workers in args.workers]

    def one(run: str, workdir: Path) -> Result:
        backend, workers = run.split(":")
        result = asyncio.run(run_backend(backend, int(workers), args, workdir))
        print(result.table(), flush=True)
        return result

    results, failed = run_backends(runs, "nabuur-bench-", args.keep, one)
    if results:
        print()
        print(f"n={args.n} actors={args.actors} concurrency={args.concurrency} (keys cached)")
        for result in results:
            print(result.verdict())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
