"""Real Nabuur node processes on loopback ports, for multi-node and interop tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
AP = {"accept": "application/activity+json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NABUUR_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


class NodeProcess:
    """`nabuur demo` on a free port with its own SQLite file; seeded with the demo data."""

    def __init__(self, workdir: Path, name: str, **env: str) -> None:
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.database = self.workdir / "node.sqlite3"
        self.env = _env({"NABUUR_LOG_LEVEL": "INFO", **env})
        self.log_path = self.workdir / "node.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def command(self) -> list[str]:
        """The `nabuur` arguments that serve this node."""
        return ["demo", "--port", str(self.port), "--database-url", f"sqlite://{self.database}"]

    def start(self) -> NodeProcess:
        log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "node.cli", *self.command()],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        return self

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"node exited:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"node did not start:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a `nabuur` command against this node's database (as an admin would)."""
        env = {**self.env, "NABUUR_DATABASE_URL": f"sqlite://{self.database}"}
        return subprocess.run(
            [sys.executable, "-m", "node.cli", *args],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read this node's database directly (what a page will show later)."""
        with sqlite3.connect(self.database, timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def first_public_post(self, neighbourhood: str = "jette-centre") -> str:
        [(post_id,)] = self.query(
            "SELECT p.id FROM help_posts p JOIN neighbourhoods n ON n.id = p.neighbourhood_id"
            " WHERE n.slug = ? AND p.visibility = 'public' AND p.status = 'open'"
            " ORDER BY p.created_at LIMIT 1",
            neighbourhood,
        )
        return self.url(f"/r/{post_id}")


class InitNodeProcess(NodeProcess):
    """A fresh node as an operator sets one up: `nabuur init`, then `nabuur run`.

    No demo data: only the first admin (`admin_username`, `admin_password`), on SQLite,
    with NABUUR_BASE_URL at its loopback address (private addresses allowed, so that it
    may talk to other test nodes). The password is given to `init` only, as
    NABUUR_ADMIN_PASSWORD; nothing else is pinned by the environment, so the admin pages
    may change every node setting.
    """

    def __init__(
        self,
        workdir: Path,
        name: str,
        admin_username: str = "gemeente",
        admin_password: str = "Gemeente-Jette-2026",  # noqa: S107 - a throwaway test node
        **env: str,
    ) -> None:
        super().__init__(workdir, name, **env)
        self.admin_username = admin_username
        self.admin_password = admin_password
        self.env.update(
            {
                "NABUUR_DATABASE_URL": f"sqlite://{self.database}",
                "NABUUR_BASE_URL": self.base,
                "NABUUR_ALLOW_PRIVATE_ADDRESSES": "1",
                **env,
            }
        )

    def init(self) -> subprocess.CompletedProcess[str]:
        """Run `nabuur init --admin-username ...`; raises with its output if it fails."""
        result = subprocess.run(
            [sys.executable, "-m", "node.cli", "init", "--admin-username", self.admin_username],
            cwd=self.workdir,
            env={**self.env, "NABUUR_ADMIN_PASSWORD": self.admin_password},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"nabuur init failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result

    def command(self) -> list[str]:
        return ["run", "--port", str(self.port)]

    def start(self) -> InitNodeProcess:
        """Initialise the node (once), then serve it with `nabuur run --port P`."""
        if not self.database.exists():
            self.init()
        super().start()
        return self


async def get_json(url: str, **params: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=AP, params=params or None) as response,
    ):
        response.raise_for_status()
        return await response.json(content_type=None)


async def eventually(check: Callable[[], Any], seconds: float = 15.0) -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {seconds} s")
        await asyncio.sleep(0.2)


POST_SCRIPT = """
import asyncio, sys
from node import db
from node.models import Account
from node.services import posts

async def main(url, username, title, status):
    await db.open_database(url)
    try:
        author = await Account.get(username=username)
        if status:
            post = await posts.HelpPost.get(title=title)
            await posts.change_status(author, post, status)
        else:
            draft = posts.PostDraft(kind="request", title=title, category="garden",
                                    neighbourhood="jette-centre", language="nl",
                                    description="Haag snoeien, ladder aanwezig.")
            post = await posts.create_post(author, draft)
        print(post.id)
    finally:
        await db.close_database()

asyncio.run(main(*sys.argv[1:5]))
"""


def run_script(node: NodeProcess, script: str, *args: str) -> str:
    """Run a Python snippet against `node`'s database (as its web pages will act)."""
    result = subprocess.run(
        [sys.executable, "-c", script, f"sqlite://{node.database}", *args],
        cwd=node.workdir,
        env=node.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def write_post(node: NodeProcess, title: str, status: str = "", username: str = "marleen") -> str:
    """Publish (or change the status of) a post on `node` through its services."""
    return run_script(node, POST_SCRIPT, username, title, status).splitlines()[-1]


ACCEPT_SCRIPT = """
import asyncio, sys
from node import db
from node.models import Account, Response
from node.services import responses

async def main(url, username, post_id):
    await db.open_database(url)
    try:
        author = await Account.get(username=username)
        offer = await Response.get(post_id=post_id, kind="offer", offer_status="offered")
        await responses.accept_helper(author, offer)
    finally:
        await db.close_database()

asyncio.run(main(*sys.argv[1:4]))
"""


def accept_first_offer(node: NodeProcess, post_id: str, username: str = "marleen") -> None:
    """The author accepts the first pending offer of help on the post, through the services."""
    run_script(node, ACCEPT_SCRIPT, username, post_id)


@contextlib.contextmanager
def running_nodes(workdir: Path, **nodes: dict[str, str]) -> Iterator[dict[str, NodeProcess]]:
    """Start demo nodes (name -> extra environment) in parallel; stop them all after."""
    started = {name: NodeProcess(workdir, name, **env).start() for name, env in nodes.items()}
    try:
        for node in started.values():
            node.wait_ready()
        yield started
    finally:
        for node in started.values():
            node.stop()
