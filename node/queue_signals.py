"""Waking the queue workers at the commit of new work: PostgreSQL LISTEN/NOTIFY.

Whoever stores new work (an inbox item, deliveries, a domain event) calls `notify` with
the queue's channel, inside the transaction that stores it: PostgreSQL delivers the
notification when the transaction commits (never on rollback), and collapses identical
notifications of one transaction into one, so a batch costs one wake-up.

Each worker process keeps one connection of its own (not from the ORM's pool, whose
connections come and go) that LISTENs on every channel and sets the matching wake-up
event of its queue loops (`Listener`). It reconnects by itself, with backoff, when the
connection drops; while it is down the loops poll as they always did. Polling is also
the only mode on SQLite, where one process works the queues and wakes itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from tortoise import connections
from tortoise.backends.base.config_generator import expand_db_url

from node import db

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger("nabuur.queue_signals")

INBOX = "nabuur_inbox"
DELIVERIES = "nabuur_deliveries"
EVENTS = "nabuur_events"
MAIL = "nabuur_mail"  # e-mail queued (`node.services.mail_queue`)
CHANNELS = (INBOX, DELIVERIES, EVENTS, MAIL)

APPLICATION_NAME = "nabuur-listener"  # how the connection shows in pg_stat_activity
CONNECT_TIMEOUT = 5.0
# A connection dropped without a word (a cable, a NAT table) is found by a query that
# gets no answer: one every KEEPALIVE seconds.
KEEPALIVE = 15.0
FIRST_RETRY = 0.5
MAX_RETRY = 10.0
# Connection arguments of asyncpg.connect found in a tortoise URL (the rest belongs to
# the ORM's pool: minsize, maxsize, max_queries...).
_CONNECT_ARGUMENTS = frozenset(
    {"ssl", "direct_tls", "passfile", "target_session_attrs", "krbsrvname", "gsslib"}
)


async def notify(channel: str) -> None:
    """Tell listening workers that `channel`'s queue has new rows; nothing on SQLite."""
    if channel not in CHANNELS:  # a channel name is SQL, never input
        raise ValueError(f"unknown queue channel {channel!r}")
    connection = connections.get("default")  # the current transaction's, if any
    if connection.capabilities.dialect != "postgres":
        return
    await connection.execute_script(f"NOTIFY {channel}")


def connect_arguments(database_url: str) -> dict[str, Any]:
    """asyncpg.connect's arguments for the database the ORM uses."""
    credentials = expand_db_url(database_url)["credentials"]
    arguments: dict[str, Any] = {
        key: credentials.get(key) for key in ("host", "port", "user", "password", "database")
    }
    arguments |= {k: v for k, v in credentials.items() if k in _CONNECT_ARGUMENTS}
    settings = {"application_name": APPLICATION_NAME}
    if credentials.get("schema"):
        settings["search_path"] = credentials["schema"]
    return arguments | {"server_settings": settings}


class Listener:
    """One connection that LISTENs on the queue channels and sets their wake-up events."""

    def __init__(self, database_url: str, wakes: dict[str, asyncio.Event]) -> None:
        if db.is_sqlite(database_url):
            raise ValueError("LISTEN/NOTIFY needs PostgreSQL")
        unknown = set(wakes) - set(CHANNELS)
        if unknown:
            raise ValueError(f"unknown queue channels {sorted(unknown)}")
        self.database_url = database_url
        self.wakes = wakes
        self.connected = asyncio.Event()  # set while listening (tests and /readyz read it)
        self.connects = 0  # successful connections so far
        self._down_since: float | None = None  # monotonic time the connection was lost
        self._connection: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def server_pid(self) -> int | None:
        """The PostgreSQL backend serving the connection, while connected."""
        if self._connection is None or self._connection.is_closed():
            return None
        return self._connection.get_server_pid()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="queue-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _notified(self, connection: object, pid: int, channel: str, payload: str) -> None:
        wake = self.wakes.get(channel)
        if wake is not None:
            wake.set()

    async def _listen(self) -> None:
        """Connect, LISTEN, and return when the connection is lost (or raise)."""
        import asyncpg  # only PostgreSQL nodes need it: SQLite ones never load it

        lost = asyncio.Event()
        connection = await asyncpg.connect(
            **connect_arguments(self.database_url), timeout=CONNECT_TIMEOUT
        )
        self._connection = connection
        try:
            connection.add_termination_listener(lambda _: lost.set())
            for channel in self.wakes:
                await connection.add_listener(channel, self._notified)
            self.connected.set()
            self.connects += 1
            if self._down_since is not None:
                down = time.monotonic() - self._down_since
                log.warning("queue listener: listening again after %.1f s", down)
                self._down_since = None
            # Work committed while nobody listened was not announced: look once.
            for wake in self.wakes.values():
                wake.set()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), KEEPALIVE)
                if not lost.is_set():
                    await connection.fetchval("SELECT 1", timeout=CONNECT_TIMEOUT)
        finally:
            self.connected.clear()
            self._connection = None
            connection.terminate()

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._listen()
                problem = "the connection was closed"
            except Exception as exc:  # any failure: the loops poll until we are back
                problem = f"{type(exc).__name__}: {exc}"[:200]
            if self._down_since is None:  # one line per outage, not one per attempt
                self._down_since = time.monotonic()
                failures = 0
                log.warning("queue listener: %s; polling until it reconnects", problem)
            failures += 1
            await asyncio.sleep(min(MAX_RETRY, FIRST_RETRY * 2 ** (failures - 1)))
