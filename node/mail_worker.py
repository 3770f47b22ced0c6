"""The mail sender running in a node process: its queue loop, wake-ups and stopping.

The process that works the queues (`nabuur run` holding the queue lock, or `nabuur
worker`) runs one `MailWorker` when the node sends e-mail. It is woken at once when
mail is queued: in this process by `node.mail_sender.wake`, and on PostgreSQL by the
`nabuur_mail` notification sent at the commit (`node.queue_signals`) when another
process queued it. It polls as well, for retries that fall due and while the listener
reconnects. Stopping drains it like the other queues: the message being sent finishes,
the rest of the batch goes back to the queue.
"""

from __future__ import annotations

import asyncio
import functools

from node import db, mail_sender, queue_signals
from node.config import Settings
from node.queue_loop import QueueLoop

POLL_SECONDS = 5.0
DRAIN_SECONDS = 20.0  # a slow server may take SMTP_TIMEOUT for one message


class MailWorker:
    def __init__(self, settings: Settings, stopping: asyncio.Event | None = None) -> None:
        self.wake = asyncio.Event()
        self.stopping = stopping if stopping is not None else asyncio.Event()
        self.leases = mail_sender.mail_leases(settings)
        self.loop = QueueLoop(
            "mail-sender",
            functools.partial(
                mail_sender.send_once, settings, leases=self.leases, stopping=self.stopping
            ),
            self.wake,
            POLL_SECONDS,
            leases=self.leases,
            stopping=self.stopping,
        )
        self.listener: queue_signals.Listener | None = None
        if not db.is_sqlite(settings.database_url):
            self.listener = queue_signals.Listener(
                settings.database_url, {queue_signals.MAIL: self.wake}
            )

    @classmethod
    def create(cls, settings: Settings) -> MailWorker | None:
        """The worker, or None when this node sends no e-mail."""
        return cls(settings) if settings.mail_enabled else None

    @property
    def running(self) -> bool:
        return self.loop.running

    def start(self) -> None:
        mail_sender.register_wake(self.wake)
        if self.listener is not None:
            self.listener.start()
        self.loop.start()

    async def stop(self, drain_seconds: float = DRAIN_SECONDS) -> None:
        """Finish the message in hand (up to `drain_seconds`), give the rest back."""
        if self.loop.running:
            await self.loop.drain(drain_seconds)
        else:
            await self.loop.stop()
        if self.listener is not None:
            await self.listener.stop()
