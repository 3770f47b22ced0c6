"""Storing received activities: many requests share one commit (group commit).

Each inbox request waits until its row is committed before answering 202, so nothing
acknowledged can be lost; but rows arriving together are inserted in one statement and
one transaction, which is what lets a node take thousands of activities a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from node.models import InboxItem
from node.states import INBOX_GRAPH

log = logging.getLogger("nabuur.inbox")

MAX_BATCH = 500


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
            await self._write([item])
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write([item for item, _ in batch])
            except Exception as exc:  # every waiter answers 503 and the sender retries
                log.exception("storing %d inbox items failed", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

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
        if self._on_commit is not None:
            self._on_commit.set()
