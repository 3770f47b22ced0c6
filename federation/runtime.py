"""Starting and stopping federation inside a node process: client, writer, workers.

On PostgreSQL a listener (`node.queue_signals`) wakes the queue loops when another
process commits work; the loops still poll, as the fallback while it reconnects and as
the only mode on SQLite. Stopping drains: the loops finish what they hold for up to
DRAIN_SECONDS and give the rest back, then the inbox writer and the HTTP client close.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass, field

from federation.context import Federation
from federation.event_consumer import consume_events_once, event_leases
from federation.inbox_store import InboxWriter
from federation.worker import deliver_once, delivery_leases, inbox_leases, process_inbox_once
from node import db, queue_signals
from node.config import Settings
from node.queue_loop import QueueLoop

log = logging.getLogger("nabuur.worker")

# Seconds a stopping process lets its workers finish what they hold (a delivery to a
# slow server may take 30 s); whatever is unfinished then is released to others.
DRAIN_SECONDS = 20.0


@dataclass
class FederationRuntime:
    federation: Federation
    inbox_writer: InboxWriter
    loops: list[QueueLoop]
    listener: queue_signals.Listener | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def create(cls, settings: Settings, *, workers: bool = True) -> FederationRuntime:
        fed = Federation.create(settings)
        stopping = asyncio.Event()
        loops = []
        listener = None
        if workers:
            queues = [
                # (name, one batch, wake-up, poll interval, leases). Woken at once by this
                # process and, on PostgreSQL, by the listener when another process commits;
                # polled as well, for the rows nothing announces (a retry that falls due)
                # and while the listener reconnects.
                ("inbox-worker", process_inbox_once, fed.inbox_waiting, 0.5, inbox_leases(fed)),
                (
                    "delivery-worker",
                    deliver_once,
                    fed.deliveries_waiting,
                    0.5,
                    delivery_leases(fed),
                ),
                ("event-worker", consume_events_once, fed.events_waiting, 1.0, event_leases(fed)),
            ]
            loops = [
                QueueLoop(
                    name,
                    functools.partial(batch, fed, leases=leases, stopping=stopping),
                    wake,
                    poll,
                    leases=leases,
                    stopping=stopping,
                )
                for name, batch, wake, poll, leases in queues
            ]
            if not db.is_sqlite(settings.database_url):
                listener = queue_signals.Listener(
                    settings.database_url,
                    {
                        queue_signals.INBOX: fed.inbox_waiting,
                        queue_signals.DELIVERIES: fed.deliveries_waiting,
                        queue_signals.EVENTS: fed.events_waiting,
                    },
                )
        return cls(fed, InboxWriter(on_commit=fed.inbox_waiting), loops, listener, stopping)

    def start_receiving(self) -> None:
        self.inbox_writer.start()

    def start_workers(self) -> None:
        if self.listener is not None:
            self.listener.start()
        for loop in self.loops:
            loop.start()

    async def drain(self, seconds: float = DRAIN_SECONDS) -> None:
        """Let the workers finish what they hold for up to `seconds`; release the rest."""
        if not any(loop.running for loop in self.loops):
            for loop in self.loops:  # never started: nothing held, nothing to wait for
                await loop.stop()
            return
        started = time.monotonic()
        self.stopping.set()
        released = await asyncio.gather(*(loop.drain(seconds) for loop in self.loops))
        log.info("workers stopped in %.1f s", time.monotonic() - started)
        if any(released):
            log.info("%d claimed rows given back after the drain", sum(released))

    async def stop(self, drain_seconds: float = DRAIN_SECONDS) -> None:
        await self.drain(drain_seconds)
        if self.listener is not None:
            await self.listener.stop()
        await self.inbox_writer.stop()
        await self.federation.close()
