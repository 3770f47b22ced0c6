"""Periodic work inside the node process: expiring posts now, retries later.

Each job runs on its own fixed interval and logs one line per run. A failing run is
logged with its traceback and retried at the next tick; it never stops the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("nabuur.jobs")

JobFunc = Callable[[], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    interval: float
    run: JobFunc  # returns how many things it changed, for the log line


async def run_once(job: Job) -> int | None:
    """Run `job` now and log the outcome; None when it failed."""
    started = time.perf_counter()
    try:
        changed = await job.run()
    except Exception:
        log.exception("job %s failed", job.name)
        return None
    log.info("job %s changed=%d %.1fms", job.name, changed, (time.perf_counter() - started) * 1000)
    return changed


class Scheduler:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self._tasks: list[asyncio.Task[None]] = []

    async def _loop(self, job: Job) -> None:
        while True:
            await run_once(job)
            await asyncio.sleep(job.interval)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(job), name=job.name) for job in self.jobs]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
