"""Storing received activities: many requests share one commit (group commit).

Each inbox request waits until its row is committed before answering 202, so nothing
acknowledged can be lost; but rows arriving together are inserted in one statement and
one transaction, which is what lets a node take thousands of activities a second.

When the database fails (away, cut, full, read-only) every waiting request gets the
error, and the inbox answers 503 so that the sender retries; the writer goes on with
the next batch, and logs the failure once per streak, not once per batch. A request
whose row is not committed within STORE_TIMEOUT (the pool exhausted, a server that does
not answer) gets the 503 too: its row may still be committed later, and the sender's
retry is then dropped as a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from node import queue_signals
from node.db_faults import FailureStreak
from node.models import InboxItem
from node.states import INBOX_GRAPH

log = logging.getLogger("nabuur.inbox")

MAX_BATCH = 500
STORE_TIMEOUT = 10.0  # seconds; senders time out soon after (Mastodon: 10 s)


@dataclass(frozen=True, slots=True)
class Received:
    activity_id: str
    activity_type: str
    actor_uri: str
    payload: dict


class InboxWriter:
    def __init__(self, on_commit: asyncio.Event | None = None) -> None:
        self._queue: asyncio.Queue[tuple[Received, asyncio.Future[None]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._on_commit = on_commit
        self.faults = FailureStreak(log, "inbox: storing received activities")

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def store(self, item: Received) -> None:
        """Return once `item` is committed; raise if the database refused it."""
        if self._task is None:  # not started (tests, one-off use): write directly
            await self._write_reporting([item])
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Read the outcome even when nobody waits any more (no "never retrieved" noise).
        future.add_done_callback(lambda done: done.cancelled() or done.exception())
        await self._queue.put((item, future))
        # Shielded: a timed-out request leaves its row in the batch being written.
        await asyncio.wait_for(asyncio.shield(future), STORE_TIMEOUT)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write_reporting([item for item, _ in batch])
            except Exception as exc:  # every waiter answers 503 and the sender retries
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def _write_reporting(self, items: list[Received]) -> None:
        try:
            await self._write(items)
        except Exception as exc:
            self.faults.failed(exc)
            raise
        self.faults.succeeded()

    async def _write(self, items: list[Received]) -> None:
        # Duplicates (same activity id) are dropped by the unique index, not an error.
        await InboxItem.bulk_create(
            [
                InboxItem(
                    activity_id=i.activity_id,
                    activity_type=i.activity_type,
                    actor_uri=i.actor_uri,
                    payload=i.payload,
                    status=INBOX_GRAPH.initial,  # from here on, the worker moves it
                )
                for i in items
            ],
            ignore_conflicts=True,
        )
        # Worker processes wake now (PostgreSQL); the rows are committed already.
        await queue_signals.notify(queue_signals.INBOX)
        if self._on_commit is not None:
            self._on_commit.set()
