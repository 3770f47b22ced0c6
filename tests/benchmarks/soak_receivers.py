"""The soak's remote servers: follower actors and repliers on loopback ports, in a process
of their own, that verify and record every delivery the node makes.

`Layout` spreads the followers over `hosts` ports: the first `shared` hosts advertise a
shared inbox (`/inbox`, one delivery per activity for all their followers, as Mastodon
does), the others only personal inboxes (`/users/uN/inbox`). One more port serves the
repliers (the actors who sign the inbox replies). Actor documents and keys come from
`tests.benchmarks.inbox.RemoteActors` and its key cache; every POST to an inbox is checked
with the node's own verification code (`federation.signatures`) against the publicKeyPem the
node serves for the signature's keyId (fetched once per key), and the signer must be the
activity's actor. A verified delivery is answered 202 and recorded as (arrival time, inbox,
activity id, type, actor, note it is about); anything else is answered 401 and counted by
reason. The soak reads the records from a control port at the end.

Run by `Receivers` (below), not by hand::

    python -m tests.benchmarks.soak_receivers '{"followers": 300, "hosts": 12, ...}'
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script: make `tests.benchmarks` importable
    sys.path.insert(0, str(REPO))

from federation.signatures import (  # noqa: E402
    SignatureError,
    key_id_of,
    signature_profile,
    verify_cavage,
    verify_rfc9421,
)
from node.keys import load_public_key  # noqa: E402
from tests.benchmarks.inbox import ACTIVITY_JSON, RemoteActors, free_port, load_keys  # noqa: E402

FETCH_TIMEOUT = aiohttp.ClientTimeout(total=30)


@dataclass(frozen=True)
class Layout:
    """Where follower n lives: host n % hosts, as actor u{n // hosts} there; key n % keys."""

    followers: int
    hosts: int
    shared: int  # the first `shared` hosts have a shared inbox
    keys: int  # the key pool, shared with the repliers (one RSA key per actor is slow)

    def host_of(self, n: int) -> int:
        return n % self.hosts

    def on_host(self, host: int) -> list[int]:
        return list(range(host, self.followers, self.hosts))

    def actor(self, n: int, ports: list[int]) -> tuple[str, str]:
        """Follower n's actor URI and the inbox the node should deliver to."""
        host = self.host_of(n)
        origin = f"http://127.0.0.1:{ports[host]}"
        uri = f"{origin}/users/u{n // self.hosts}"
        return uri, f"{origin}/inbox" if host < self.shared else f"{uri}/inbox"

    def inboxes(self, ports: list[int]) -> set[str]:
        """Every inbox a public post of the followed neighbourhood must reach, once."""
        return {self.actor(n, ports)[1] for n in range(self.followers)}


def note_of(activity: dict[str, Any]) -> str | None:
    """The object an activity is about: Announce(note id), Announce(Create(Note)), Accept..."""
    obj: Any = activity.get("object")
    while isinstance(obj, dict):
        if obj.get("type") in ("Create", "Update", "Delete", "Announce") and "object" in obj:
            obj = obj["object"]
        else:
            return obj.get("id") if isinstance(obj.get("id"), str) else None
    return obj if isinstance(obj, str) else None


@dataclass
class Recorder:
    """Checks and records every POST to any inbox of this process."""

    session: aiohttp.ClientSession
    records: list[list[Any]] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    keys: dict[str, asyncio.Task] = field(default_factory=dict)

    async def _fetch_key(self, key_id: str) -> tuple[str, Any]:
        """(owner, public key) of `key_id`, from the document the node serves for it."""
        url = key_id.split("#", 1)[0]
        async with self.session.get(url, headers={"accept": ACTIVITY_JSON}) as r:
            if r.status != 200:
                raise SignatureError(f"key fetch answered {r.status}")
            doc = orjson.loads(await r.read())
        keys = doc.get("publicKey")
        for key in keys if isinstance(keys, list) else [keys]:
            if isinstance(key, dict) and key.get("id") == key_id:
                return str(key.get("owner") or doc.get("id")), load_public_key(key["publicKeyPem"])
        raise SignatureError("the key is not in its actor's document")

    async def key(self, key_id: str) -> tuple[str, Any]:
        task = self.keys.get(key_id)
        if task is None or (task.done() and task.exception() is not None):
            task = self.keys[key_id] = asyncio.ensure_future(self._fetch_key(key_id))
        return await task

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        arrived = time.time()
        headers = request.headers
        try:
            key_id = key_id_of(headers)
            if key_id is None:
                raise SignatureError("no signature")
            owner, key = await self.key(key_id)
            if signature_profile(headers) == "rfc9421":
                url = f"http://{request.host}{request.raw_path}"
                verify_rfc9421(method="POST", url=url, headers=headers, body=body, public_key=key)
            else:
                target = request.raw_path
                verify_cavage(
                    method="POST", target=target, headers=headers, body=body, public_key=key
                )
            activity = orjson.loads(body)
            if activity.get("actor") != owner:
                raise SignatureError("signer is not the activity's actor")
        except (SignatureError, ValueError, KeyError, TypeError) as exc:
            self.failures[f"{type(exc).__name__}: {exc}"[:120]] += 1
            return web.Response(status=401)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.failures[f"key fetch: {type(exc).__name__}"] += 1
            return web.Response(status=401)
        inbox = f"http://{request.host}{request.path}"
        self.records.append(
            [
                arrived,
                inbox,
                str(activity.get("id")),
                str(activity.get("type")),
                str(activity.get("actor")),
                note_of(activity),
            ]
        )
        return web.Response(status=202)


@dataclass
class VerifyingHost(RemoteActors):
    """One remote server: RemoteActors' documents, inboxes that verify and record."""

    shared: bool = True
    recorder: Recorder | None = None

    def document(self, i: int) -> dict:
        doc = super().document(i)
        if not self.shared:
            del doc["endpoints"]  # a server without a shared inbox (small software)
        return doc

    async def handle_inbox(self, request: web.Request) -> web.Response:
        assert self.recorder is not None
        return await self.recorder.receive(request)


async def serve(config: dict[str, Any]) -> None:
    layout = Layout(**config["layout"])
    keys = load_keys(layout.keys)  # cached by the soak before this process starts
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(connector=connector, timeout=FETCH_TIMEOUT) as session:
        recorder = Recorder(session)
        ports = [free_port() for _ in range(layout.hosts + 2)]
        hosts: list[VerifyingHost] = []
        for h in range(layout.hosts):
            host_keys = [keys[n % layout.keys] for n in layout.on_host(h)]
            origin = f"http://127.0.0.1:{ports[h]}"
            hosts.append(VerifyingHost(origin, host_keys, shared=h < layout.shared))
        repliers = VerifyingHost(f"http://127.0.0.1:{ports[-2]}", keys)
        runners = []
        for host, port in zip([*hosts, repliers], ports, strict=False):
            host.recorder = recorder
            runners.append(await host.start(port))

        async def records(request: web.Request) -> web.Response:
            fetches = sum(sum(h.fetches.values()) for h in [*hosts, repliers])
            out = {"records": recorder.records, "failures": recorder.failures, "fetches": fetches}
            return web.Response(body=orjson.dumps(out), content_type="application/json")

        control = web.Application()
        control.router.add_get("/_records", records)
        runner = web.AppRunner(control, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", ports[-1]).start()
        ready = {"hosts": ports[: layout.hosts], "repliers": ports[-2], "control": ports[-1]}
        print(json.dumps(ready), flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            for r in [*runners, runner]:
                await r.cleanup()


class Receivers:
    """The receiver process, seen from the soak."""

    def __init__(self, layout: Layout, env: dict[str, str], log: Path) -> None:
        config = {"layout": layout.__dict__}
        with log.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.benchmarks.soak_receivers", json.dumps(config)],
                env=env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the receiver process did not start (see {log})")
        ports = json.loads(line)
        self.layout = layout
        self.ports: list[int] = ports["hosts"]
        self.repliers = f"http://127.0.0.1:{ports['repliers']}"
        self.control = f"http://127.0.0.1:{ports['control']}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def collect(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.get(f"{self.control}/_records") as r:
            return orjson.loads(await r.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C reaches this process too
        asyncio.run(serve(json.loads(sys.argv[1])))
