"""A rolling restart of 2 web and 2 worker processes under load loses nothing.

One PostgreSQL database, a node made by `nabuur init`, a neighbourhood with 50 followers
on loopback receivers (5 hosts). Signed inbox replies go to both web processes at a
steady rate while new requests are published (each announced to the 50 followers), and
meanwhile each of the four processes in turn gets SIGTERM and is started again. The load
generator retries, as a real server would, on a refused or dropped connection and on a
503, and counts those retries apart.

Proved at the end: every activity answered 202 is processed; every delivery row is sent
and reached its inbox, with a signature that verifies against the sender's published
key, and none twice beyond the requests in flight when a worker stopped; nothing is left
pending; no answer was a 5xx other than a 503 from a web process in its own shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import orjson
import pytest
from aiohttp import web

from federation.delivery_worker import DELIVERY_CONCURRENCY
from federation.signatures import sign_cavage, verify_cavage
from node import db
from node.keys import load_public_key
from node.models import Delivery, Event, InboxItem, OutboxActivity
from node.services import posts, remote_follows
from node.services.remote_actors import RemoteActorData, upsert_remote_actor
from tests import factories
from tests.conftest import _pg_admin, _pg_url
from tests.fakeremote import public_pem, remote_key
from tests.nodes import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
FOLLOWERS = 50
HOSTS = 5
RATE = 20.0  # signed inbox activities per second, over both web processes
PUBLISH_EVERY = 3.0  # seconds between new requests (each: 50 deliveries)
SETTLE = 3.0  # seconds of load before and between restarts
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AP = "application/activity+json"


@dataclass
class Receivers:
    """The followers' servers: actor documents, and inboxes that record every POST."""

    ports: list[int] = field(default_factory=list)
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    open: int = 0  # requests being answered now
    runner: web.AppRunner | None = None

    def actor(self, n: int) -> str:
        return f"http://127.0.0.1:{self.ports[n % HOSTS]}/users/f{n}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/users/{name}", self._document)
        app.router.add_post("/users/{name}/inbox", self._inbox)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        for _ in range(HOSTS):
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            self.ports.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    async def _document(self, request: web.Request) -> web.Response:
        n = int(request.match_info["name"].removeprefix("f"))
        uri = self.actor(n)
        document = {
            "@context": ["https://www.w3.org/ns/activitystreams"],
            "id": uri,
            "type": "Person",
            "preferredUsername": f"f{n}",
            "inbox": f"{uri}/inbox",
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": _pem(n)},
        }
        return web.Response(body=orjson.dumps(document), content_type=AP)

    async def _inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((request.raw_path, dict(request.headers), body))
        self.open += 1
        try:
            await asyncio.sleep(0.2)  # some work: a fan-out takes a moment
        finally:
            self.open -= 1
        return web.Response(status=202)


def _pem(n: int) -> str:
    return public_pem(remote_key(n % 4))


@dataclass
class Process:
    """One `nabuur run` or `nabuur worker`, started again after each stop."""

    name: str
    argv: list[str]
    env: dict[str, str]
    workdir: Path
    port: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    exits: list[int] = field(default_factory=list)
    drains: list[float] = field(default_factory=list)
    down: list[tuple[float, float]] = field(default_factory=list)  # shutdown windows

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "node.cli", *self.argv],
                cwd=self.workdir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def ready(self, session: aiohttp.ClientSession, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            if self.port is None:
                if "nabuur worker running" in self.log.read_text(errors="replace"):
                    return
            else:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as r:
                        if r.status == 200:
                            return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}")

    async def restart(self, session: aiohttp.ClientSession) -> None:
        assert self.proc is not None
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.exits.append(await asyncio.to_thread(self.proc.wait, 60))
        self.drains.append(time.monotonic() - began)
        self.start()
        await self.ready(session)
        self.down.append((began, time.monotonic()))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Load:
    """Signed Create(Note) replies, sent to the web processes with a sender's retries."""

    ports: list[int]
    post_url: str
    receivers: Receivers
    accepted: set[str] = field(default_factory=set)
    retries: Counter[str] = field(default_factory=Counter)
    bad: list[tuple[int, int, str]] = field(default_factory=list)  # port, status, body
    unavailable: list[tuple[float, int]] = field(default_factory=list)  # 503s: when, port
    run: str = field(default_factory=lambda: secrets.token_hex(4))

    def activity(self, i: int) -> tuple[str, bytes]:
        actor = self.receivers.actor(i % FOLLOWERS)
        note = f"{actor}/notes/{self.run}-{i}"
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{actor}/activities/{self.run}-{i}",
            "type": "Create",
            "actor": actor,
            "to": [PUBLIC],
            "object": {
                "id": note,
                "type": "Note",
                "attributedTo": actor,
                "inReplyTo": self.post_url,
                "content": f"<p>I can help on Saturday ({i}).</p>",
                "to": [PUBLIC],
            },
        }
        return activity["id"], orjson.dumps(activity)

    async def send(self, session: aiohttp.ClientSession, i: int) -> None:
        activity_id, body = self.activity(i)
        key = remote_key(i % FOLLOWERS % 4)
        key_id = f"{self.receivers.actor(i % FOLLOWERS)}#main-key"
        port = self.ports[i % len(self.ports)]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            url = f"http://127.0.0.1:{port}/inbox"
            headers = {"content-type": AP}
            headers |= sign_cavage(
                method="POST", url=url, headers=headers, body=body, key_id=key_id, private_key=key
            )
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    text = await response.text()
                    status = response.status
            except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                self.retries[type(exc).__name__] += 1
            else:
                if status == 202:
                    self.accepted.add(activity_id)
                    return
                if status != 503:
                    self.bad.append((port, status, text[:200]))
                    return
                self.retries["503"] += 1
                self.unavailable.append((time.monotonic(), port))
            # As a server behind a proxy would: the other process, a moment later.
            port = self.ports[(self.ports.index(port) + 1) % len(self.ports)]
            await asyncio.sleep(0.1)
        self.bad.append((port, 0, "gave up after 90 s of retries"))

    async def run_until(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        tasks: set[asyncio.Task[None]] = set()
        i, next_at = 0, time.monotonic()
        while not stop.is_set():
            tasks.add(asyncio.create_task(self.send(session, i)))
            i += 1
            next_at += 1 / RATE
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await asyncio.gather(*tasks)


async def _seed(receivers: Receivers) -> tuple[str, object, object]:
    """The neighbourhood, its 50 followers, an author and a first request."""
    hood = await factories.neighbourhood("jette-centre")
    for n in range(FOLLOWERS):
        uri = receivers.actor(n)
        actor = await upsert_remote_actor(
            RemoteActorData(
                uri=uri,
                domain=uri.split("/")[2],
                actor_type="Person",
                username=f"f{n}",
                display_name=f"Follower {n}",
                summary_html="",
                url=None,
                icon_url=None,
                inbox=f"{uri}/inbox",
                shared_inbox=None,
                followers_url=None,
                key_id=f"{uri}#main-key",
                public_key_pem=_pem(n),
                manually_approves_followers=False,
            )
        )
        await remote_follows.follow_from_remote(actor, hood, f"{uri}/follows/{n}")
    await remote_follows.accept_all_pending(hood)
    author = await factories.account("marleen")
    first = await factories.post(author, hood)
    return str(first.id), hood, author


async def _quiet(accepted: set[str], seconds: float = 120) -> dict[str, int]:
    """Wait until nothing is pending; returns what is left by queue."""
    deadline = time.monotonic() + seconds
    while True:
        left = {
            "inbox": await InboxItem.filter(status__in=["pending", "retry"]).count(),
            "missing inbox rows": len(accepted)
            - await InboxItem.filter(activity_id__in=sorted(accepted)).count(),
            "events": await Event.filter(handled_at=None).count(),
            "deliveries": await Delivery.filter(status="pending").count(),
        }
        if not any(left.values()) or time.monotonic() > deadline:
            return left
        await asyncio.sleep(0.5)


async def _verified(received: list[tuple[str, dict[str, str], bytes]], base: str) -> Counter[str]:
    """Verify every POST against the key its signer publishes (fetched from the node)."""
    keys: dict[str, object] = {}
    outcome: Counter[str] = Counter()
    async with aiohttp.ClientSession() as session:
        for path, headers, body in received:
            lowered = {k.lower(): v for k, v in headers.items()}
            key_id = lowered["signature"].split('keyId="', 1)[1].split('"', 1)[0]
            if key_id not in keys:
                assert key_id.startswith(base)
                async with session.get(key_id.split("#")[0], headers={"accept": AP}) as r:
                    document = await r.json(content_type=None)
                keys[key_id] = load_public_key(document["publicKey"]["publicKeyPem"])
            verify_cavage(
                method="POST", target=path, headers=headers, body=body, public_key=keys[key_id]
            )
            outcome["verified"] += 1
    return outcome


@pytest.fixture
def cluster_url(postgres_database: str):
    name = f"{postgres_database.rsplit('/', 1)[1]}_s{secrets.token_hex(3)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_rolling_restart_of_two_web_and_two_worker_processes_loses_nothing(
    cluster_url: str, tmp_path: Path
) -> None:
    receivers = Receivers()
    await receivers.start()
    web_ports = [free_port(), free_port()]
    base = f"http://127.0.0.1:{web_ports[0]}"  # the node's public URL (its proxy)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NABUUR_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "NABUUR_DATABASE_URL": cluster_url,
        "NABUUR_BASE_URL": base,
        "NABUUR_ALLOW_PRIVATE_ADDRESSES": "1",
        "NABUUR_LOG_LEVEL": "WARNING",
    }
    init = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "node.cli", "init", "--admin-username", "admin"],
        cwd=tmp_path,
        env=env | {"NABUUR_ADMIN_PASSWORD": "correct horse battery"},
        capture_output=True,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    await db.open_database(cluster_url)
    web_env = env | {"NABUUR_RUN_WORKERS": "0"}
    worker_env = env | {"NABUUR_LOG_LEVEL": "INFO"}
    processes = [
        Process("web1", ["run", "--port", str(web_ports[0])], web_env, tmp_path, web_ports[0]),
        Process("worker1", ["worker"], worker_env, tmp_path),
        Process("web2", ["run", "--port", str(web_ports[1])], web_env, tmp_path, web_ports[1]),
        Process("worker2", ["worker"], worker_env, tmp_path),
    ]
    published: list[str] = []
    try:
        post_id, hood, author = await _seed(receivers)
        published.append(post_id)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for process in processes:
                process.start()
            for process in processes:
                await process.ready(session)
            load = Load(web_ports, f"{base}/r/{post_id}", receivers)
            stop = asyncio.Event()

            async def publish_one() -> None:
                draft = factories.draft(hood, title=f"Help moving boxes, {len(published)}")
                published.append(str((await posts.create_post(author, draft)).id))

            async def publish() -> None:
                while not stop.is_set():
                    await asyncio.sleep(PUBLISH_EVERY)
                    await publish_one()

            async def mid_fan_out() -> int:
                """A worker is stopped while a fan-out is being sent."""
                before = len(receivers.received)
                await publish_one()
                for _ in range(200):
                    if len(receivers.received) > before + 5:
                        break
                    await asyncio.sleep(0.01)
                return receivers.open

            sending = asyncio.create_task(load.run_until(session, stop))
            publishing = asyncio.create_task(publish())
            in_flight = []
            for process in processes:  # each in turn, under load
                await asyncio.sleep(SETTLE)
                if process.port is None:
                    in_flight.append(await mid_fan_out())
                await process.restart(session)
            await asyncio.sleep(SETTLE)
            stop.set()
            await asyncio.gather(sending, publishing)
            left = await _quiet(load.accepted)
            verified = await _verified(receivers.received, base)  # keys from the node
        sent = await Delivery.filter(status="sent").count()
        rows = await Delivery.all().values_list("activity__activity_uri", "inbox", "status")
        processed = await InboxItem.filter(
            activity_id__in=sorted(load.accepted), status="processed"
        ).count()
        activities = await OutboxActivity.all().count()
    finally:
        for process in processes:
            process.stop()
        await db.close_database()
        if receivers.runner is not None:
            await receivers.runner.cleanup()

    arrivals: Counter[tuple[str, str]] = Counter()
    for path, _, body in receivers.received:
        arrivals[(orjson.loads(body)["id"], path)] += 1
    # Each follower's inbox path is its own, whichever of the five hosts it is on.
    expected = {(uri, urlsplit(inbox).path) for uri, inbox, _ in rows}
    missing = expected - set(arrivals)
    duplicates = sum(n - 1 for n in arrivals.values())
    in_window = [
        (when, port)
        for when, port in load.unavailable
        if any(a <= when <= b for p in processes if p.port == port for a, b in p.down)
    ]
    print(
        f"\n{len(load.accepted)} inbox activities answered 202, {processed} processed; "
        f"retries: {dict(load.retries) or 'none'}; {len(published)} requests published, "
        f"{activities} activities, {len(rows)} deliveries ({sent} sent), "
        f"{len(receivers.received)} POSTs received ({duplicates} repeated, "
        f"{verified['verified']} signatures verified); deliveries in flight at the "
        f"workers' SIGTERM: {in_flight}; left: {left}\n"
        + "\n".join(
            f"  {p.name}: SIGTERM -> exit {p.exits} in {', '.join(f'{d:.1f}' for d in p.drains)} s"
            for p in processes
        )
    )
    assert not load.bad, load.bad[:5]  # no 5xx but 503, no 4xx
    assert len(in_window) == len(load.unavailable), "a 503 outside a shutdown window"
    assert processed == len(load.accepted) > 0
    assert not any(left.values()), left
    assert sent == len(rows) and not missing, sorted(missing)[:5]
    assert duplicates <= 2 * DELIVERY_CONCURRENCY  # what two stopping workers had in flight
    assert verified["verified"] == len(receivers.received)
    for process in processes:  # workers exit 0; uvicorn ends by SIGTERM's default action
        assert set(process.exits) <= ({0} if process.port is None else {0, -signal.SIGTERM})
