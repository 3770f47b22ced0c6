"""Starting and stopping federation inside a node process: client, writer, workers."""

from __future__ import annotations

from dataclasses import dataclass

from federation.context import Federation
from federation.event_consumer import consume_events_once
from federation.inbox_store import InboxWriter
from federation.worker import QueueLoop, deliver_once, process_inbox_once
from node.config import Settings


@dataclass
class FederationRuntime:
    federation: Federation
    inbox_writer: InboxWriter
    loops: list[QueueLoop]

    @classmethod
    def create(cls, settings: Settings, *, workers: bool = True) -> FederationRuntime:
        fed = Federation.create(settings)
        loops = []
        if workers:
            loops = [
                # Woken at once by this process; polled twice a second for rows that other
                # processes (web processes, the CLI) queued.
                QueueLoop("inbox-worker", lambda: process_inbox_once(fed), fed.inbox_waiting, 0.5),
                QueueLoop(
                    "delivery-worker", lambda: deliver_once(fed), fed.deliveries_waiting, 0.5
                ),
                # Events come from services in any process (the CLI too): polled each second.
                QueueLoop(
                    "event-worker", lambda: consume_events_once(fed), fed.events_waiting, 1.0
                ),
            ]
        return cls(fed, InboxWriter(on_commit=fed.inbox_waiting), loops)

    def start_receiving(self) -> None:
        self.inbox_writer.start()

    def start_workers(self) -> None:
        for loop in self.loops:
            loop.start()

    async def stop(self) -> None:
        for loop in self.loops:
            await loop.stop()
        await self.inbox_writer.stop()
        await self.federation.close()
