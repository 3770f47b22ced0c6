"""The soak's load: signed inbox replies and page views at steady rates, requests published
through the web as a logged-in account, and the Follow activities that set the followers up.

Signing and the replies themselves come from `tests.benchmarks.inbox` (`build_requests`,
`send_all`); page views are `tests.benchmarks.pages`' open-loop generator, run in a
process of its own. Both steady loads are open loops: a request is due every 1/rate s and
is sent whatever the earlier answers, and its latency counts from when it was due, so a
node that stalls cannot hide its queue. Everything that answers is counted per channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from federation.signatures import sign_cavage
from tests.benchmarks.inbox import (
    ACTIVITY_JSON,
    REPO,
    RemoteActors,
    SignedPost,
    build_requests,
    percentile,
)
from tests.benchmarks.soak_receivers import Layout

REQUEST_TIMEOUT = 30.0  # seconds; no answer by then counts as "no answer"
GRACE = 30.0  # once the last request was due, how long to wait for the answers
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NO_ANSWER = "no answer"


def error_name(exc: BaseException) -> str:
    """`ClientOSError ([Errno 104] Connection reset by peer)`: what went wrong, briefly."""
    text = str(exc)
    return (f"{type(exc).__name__} ({text})" if text else type(exc).__name__)[:100]


@dataclass
class Channel:
    """Answers of one kind of load: statuses (or client errors) and latencies."""

    name: str
    statuses: Counter[str] = field(default_factory=Counter)  # "202", or an error's name
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (due at, seconds)
    # from a load generator that reports only summaries (the page views)
    p50_ms: float | None = None
    p99_ms: float | None = None
    failed_at: list[float] = field(default_factory=list)  # when answers other than 2xx/3xx were due

    def answer(self, status: str, due_at: float, seconds: float | None) -> None:
        """One answer (or, with seconds None, a client error named `status`)."""
        self.statuses[status] += 1
        if seconds is not None:
            self.latencies.append((due_at, seconds))
        if not (status.isdigit() and status[0] in "23"):
            self.failed_at.append(due_at)

    def classes(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for status, n in self.statuses.items():
            out[f"{status[0]}xx" if status.isdigit() else NO_ANSWER] += n
        return out

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    def percentile_ms(self, fraction: float) -> float:
        given = self.p50_ms if fraction == 0.50 else self.p99_ms if fraction == 0.99 else None
        if given is not None:
            return given
        return percentile(sorted(s for _, s in self.latencies), fraction) * 1000

    def p99_per_minute(self) -> list[float]:
        """p99 of the requests due in each minute of the run, in ms (the trend of a soak)."""
        minutes: dict[int, list[float]] = {}
        for due_at, seconds in self.latencies:
            minutes.setdefault(int(due_at // 60), []).append(seconds)
        return [percentile(sorted(minutes[m]), 0.99) * 1000 for m in sorted(minutes)]


# --- followers ------------------------------------------------------------------------------


def follow_requests(
    layout: Layout, ports: list[int], keys: list[RSAPrivateKey], hood: str, inbox_url: str
) -> list[SignedPost]:
    """A signed Follow of the neighbourhood from every follower of the layout."""
    out = []
    for n in range(layout.followers):
        actor, _ = layout.actor(n, ports)
        body = orjson.dumps(
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{actor}/follows/soak-{n}",
                "type": "Follow",
                "actor": actor,
                "object": hood,
            }
        )
        headers = {"content-type": ACTIVITY_JSON, "accept": ACTIVITY_JSON}
        headers |= sign_cavage(
            method="POST",
            url=inbox_url,
            headers=headers,
            body=body,
            key_id=f"{actor}#main-key",
            private_key=keys[n % layout.keys],
        )
        out.append(SignedPost(body, headers))
    return out


# --- signed replies -------------------------------------------------------------------------


@dataclass
class Replies:
    """Signed Create(Note) replies to `posts`, sent in turn to each web process's inbox."""

    actors: RemoteActors
    webs: list[str]
    posts: list[str]
    run_id: str
    channel: Channel = field(default_factory=lambda: Channel("inbox"))
    accepted: set[str] = field(default_factory=set)  # note ids answered 202

    def note_id(self, i: int) -> str:
        return f"{self.actors.origin}/notes/{self.run_id}-{i}"  # as build_requests names it

    def sign(self, indices: range) -> list[tuple[int, str, SignedPost]]:
        out = []
        for i in indices:
            inbox = f"{self.webs[i % len(self.webs)]}/inbox"
            post = self.posts[i % len(self.posts)]
            signed = build_requests(self.actors, inbox, post, range(i, i + 1), self.run_id)[0]
            out.append((i, inbox, signed))
        return out

    async def run(self, session: aiohttp.ClientSession, rate: float, seconds: float) -> None:
        """Send rate x seconds replies on schedule; signing runs ahead in a thread."""
        count = max(1, round(rate * seconds))
        chunk = max(1, round(rate))
        signed: asyncio.Queue[list[tuple[int, str, SignedPost]]] = asyncio.Queue(maxsize=3)

        async def signer() -> None:
            for first in range(0, count, chunk):
                batch = range(first, min(count, first + chunk))
                await signed.put(await asyncio.to_thread(self.sign, batch))

        loop = asyncio.get_running_loop()
        signing = asyncio.create_task(signer())
        tasks: set[asyncio.Task] = set()
        try:
            batch = list(reversed(await signed.get()))  # the first is signed: start the clock
            start = loop.time()
            for n in range(count):
                if not batch:
                    batch = list(reversed(await signed.get()))
                due = start + n / rate
                if (delay := due - loop.time()) > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(self._one(session, due, start, batch.pop()))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.wait(tasks, timeout=GRACE)
        finally:
            signing.cancel()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(signing, *tasks, return_exceptions=True)

    async def _one(
        self,
        session: aiohttp.ClientSession,
        due: float,
        start: float,
        item: tuple[int, str, SignedPost],
    ) -> None:
        i, inbox, request = item
        loop = asyncio.get_running_loop()
        try:
            async with session.post(inbox, data=request.body, headers=request.headers) as r:
                await r.read()
                status = str(r.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.channel.answer(error_name(exc), due - start, None)
            return
        except asyncio.CancelledError:
            self.channel.answer("cancelled after the grace period", due - start, None)
            raise
        self.channel.answer(status, due - start, loop.time() - due)
        if status == "202":
            self.accepted.add(self.note_id(i))


# --- publishing through the web -------------------------------------------------------------


@dataclass
class Published:
    note: str  # the request's id URL, as the node federates it
    sent_at: float  # wall clock (the receivers' clock) when the publishing POST was sent


@dataclass
class Publisher:
    """A logged-in account that publishes public requests in one neighbourhood."""

    webs: list[str]
    base_url: str  # the node's public URL: ids are built on it whichever process answers
    hood: str
    channel: Channel = field(default_factory=lambda: Channel("publish"))
    published: list[Published] = field(default_factory=list)
    session: aiohttp.ClientSession | None = None

    async def _token(self, url: str) -> str:
        assert self.session is not None
        async with self.session.get(url) as r:
            found = TOKEN.search(await r.text())
            if r.status != 200 or found is None:
                raise RuntimeError(f"no form at {url} ({r.status})")
            return found.group(1)

    async def login(self, username: str, password: str) -> None:
        # aiohttp keeps no cookies from IP addresses unless told to
        jar = aiohttp.CookieJar(unsafe=True)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        self.session = aiohttp.ClientSession(cookie_jar=jar, timeout=timeout)
        url = f"{self.webs[0]}/login"
        form = {"username": username, "password": password, "next": "/"}
        form["csrf_token"] = await self._token(url)
        async with self.session.post(url, data=form, allow_redirects=False) as r:
            if r.status != 303:
                raise RuntimeError(f"log-in answered {r.status}")

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def publish(self, n: int, started: float) -> None:
        """Publish request n through web process n % 2; counted in the publish channel."""
        assert self.session is not None
        web = self.webs[n % len(self.webs)]
        form = {
            "action": "publish",
            "kind": "request",
            "title": f"Soak request {n}: who can carry shopping bags upstairs?",
            "category": "shopping",
            "neighbourhood": self.hood,
            "language": "en",
            "description": "Three floors without a lift, on Saturday morning. Coffee waits.",
            "helpers_needed": "1",
            "when": "flexible",
            "visibility": "public",
        }
        loop = asyncio.get_running_loop()
        try:
            form["csrf_token"] = await self._token(f"{web}/new")
            sent_at, t0 = time.time(), loop.time()
            async with self.session.post(f"{web}/new", data=form, allow_redirects=False) as r:
                await r.read()
                status, location = str(r.status), r.headers.get("location", "")
        except (aiohttp.ClientError, TimeoutError, RuntimeError) as exc:
            self.channel.answer(error_name(exc), loop.time() - started, None)
            return
        self.channel.answer(status, t0 - started, loop.time() - t0)
        if status == "303" and location.startswith("/r/"):
            note = self.base_url + location.split("?", 1)[0]
            self.published.append(Published(note, sent_at))

    async def every(self, period: float, seconds: float, first: int) -> None:
        """One request every `period` s for `seconds` s, the first at once."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = 0
        while (due := start + n * period) < start + seconds:
            if (delay := due - loop.time()) > 0:
                await asyncio.sleep(delay)
            await self.publish(first + n, start)
            n += 1


# --- page views (pages.py's open-loop generator, in a process of its own) -------------------

LOADER = "from tests.benchmarks.pages import loader_main; loader_main()"


async def page_views(
    urls: list[str],
    rate: float,
    seconds: float,
    workdir: Path,
    env: dict[str, str],
    started: Callable[[int], None],
) -> Channel:
    """GET the URLs at `rate`/s for `seconds` s as an anonymous visitor; `started(pid)`."""
    paths = workdir / "page-urls.txt"
    paths.write_text("\n".join(urls) + "\n")
    base = urls[0].split("/", 3)
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", LOADER, "open", "/".join(base[:3]), str(paths)),
        *(str(rate), str(seconds), "en"),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    started(proc.pid)
    try:
        out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    if proc.returncode != 0 or not out.strip():
        raise RuntimeError(f"the page-view generator failed:\n{err.decode()[-2000:]}")
    data: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    channel = Channel("pages", p50_ms=data["p50_ms"], p99_ms=data["p99_ms"])
    channel.statuses.update({str(k): int(v) for k, v in data["statuses"].items()})
    channel.statuses.update({str(k): int(v) for k, v in data["errors"].items()})
    return channel
