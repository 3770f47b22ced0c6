"""The loop that works one queue in a process: batches, wake-ups, failures, stopping.

`run_once` claims and handles one batch and says how many rows it took. The loop calls
it again at once while there is work; otherwise it sleeps until its wake-up event is set
(by this process, or by `node.queue_signals` when another process commits work) or the
poll interval passes.

A failing batch (the database is away, a bug) is logged once per streak of failures
(`node.db_faults.FailureStreak`: one plain line with advice for a known database fault,
the traceback for a bug), and tried again after a backoff growing to a few seconds; the loop
says when it works again. It never stops by itself.

While a batch runs, a heartbeat renews the leases of the rows it holds (`node.leases`).
`drain` stops it cleanly: no new claims, the current batch finishes (`run_once` looks at
`stopping` and stops between items), and after a deadline whatever is still held is
released for other workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from node.db_faults import FailureStreak
from node.leases import Leases

log = logging.getLogger("nabuur.worker")

FIRST_BACKOFF = 0.5  # seconds after the first failure; doubled each time
MAX_BACKOFF = 5.0
RELEASE_TIMEOUT = 5.0  # seconds to give held rows back when stopping


class QueueLoop:
    """Runs `run_once` until the queue is empty, then sleeps until woken or polled."""

    def __init__(
        self,
        name: str,
        run_once: Callable[[], Awaitable[int]],
        wake: asyncio.Event,
        poll_seconds: float = 2.0,
        *,
        leases: Leases | None = None,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self.name = name
        self.run_once = run_once
        self.wake = wake
        self.poll_seconds = poll_seconds
        self.leases = leases
        # Shared by the loops of a process and read by `run_once` between items.
        self.stopping = stopping if stopping is not None else asyncio.Event()
        self.failures = 0  # of the current streak
        self.streak = FailureStreak(log, f"worker {name}")
        self.busy = False  # a batch is being worked on
        self._task: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    async def _pause(self, seconds: float, *, wakeable: bool) -> None:
        """Sleep `seconds`, or less when stopping (or, if `wakeable`, when woken)."""
        event = self.wake if wakeable else self.stopping
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    async def _release_held(self) -> int:
        if self.leases is None or not self.leases.held:
            return 0
        try:
            return await asyncio.wait_for(self.leases.release(), RELEASE_TIMEOUT)
        except Exception as exc:  # the database is away: the leases run out by themselves
            log.warning("worker %s could not release its rows: %s", self.name, type(exc).__name__)
            return 0

    async def _loop(self) -> None:
        while not self.stopping.is_set():
            # Cleared before the batch, not after: work announced while the batch runs
            # (after its claim looked) leaves the event set, and the loop looks again.
            self.wake.clear()
            self.busy = True
            try:
                handled = await self.run_once()
            except Exception as exc:
                self.busy = False
                self.streak.failed(exc)  # said once per streak, plainly for a known fault
                self.failures += 1
                # What the failed batch still held goes back now, not after its lease.
                await self._release_held()
                delay = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (self.failures - 1))
                await self._pause(delay, wakeable=False)
                continue
            self.busy = False
            if self.failures:
                self.streak.succeeded()  # "works again after N failed tries in T s"
                self.failures = 0
            if handled:
                continue
            if not self.stopping.is_set():
                await self._pause(self.poll_seconds, wakeable=True)

    async def _beat(self, leases: Leases) -> None:
        failing = False
        while True:
            await asyncio.sleep(leases.lease.total_seconds() / 3)
            try:
                await leases.renew()
            except Exception as exc:  # logged once per streak; the loop reports the cause
                if not failing:
                    log.warning("worker %s could not renew its leases: %s", self.name, exc)
                failing = True
            else:
                failing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)
        if self.leases is not None:
            self._heartbeat = asyncio.create_task(
                self._beat(self.leases), name=f"{self.name}-heartbeat"
            )

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def drain(self, seconds: float) -> int:
        """Stop claiming, let the current batch finish for up to `seconds`, then release
        what is still held. Returns how many rows were released."""
        self.stopping.set()
        self.wake.set()  # a sleeping loop notices at once
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=max(seconds, 0.0))
            if not done and self.busy:
                log.warning(
                    "worker %s: batch unfinished after %.0f s, released", self.name, seconds
                )
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        return await self._release_held()

    async def stop(self) -> None:
        """Stop at once: the current batch is abandoned and its rows released."""
        await self.drain(0.0)
