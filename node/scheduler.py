"""Periodic work inside the node process: expiring posts now, retries later.

Each job runs on its own fixed interval and logs one line per run. A failing run is
retried at the next tick; it never stops the node. Failures are logged once per streak
(`node.db_faults.FailureStreak`): a database that is away for an hour gives one line
per job saying why and what to do, not a traceback per tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from node import db
from node.db_faults import FailureStreak

log = logging.getLogger("nabuur.jobs")

JobFunc = Callable[[], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    interval: float
    run: JobFunc  # returns how many things it changed, for the log line


async def run_once(job: Job, faults: FailureStreak | None = None) -> int | None:
    """Run `job` now and log the outcome; None when it failed."""
    started = time.perf_counter()
    try:
        changed = await job.run()
    except Exception as exc:
        if faults is None:
            log.exception("job %s failed", job.name)
        else:
            faults.failed(exc)
        return None
    if faults is not None:
        faults.succeeded()
    log.info("job %s changed=%d %.1fms", job.name, changed, (time.perf_counter() - started) * 1000)
    return changed


class Scheduler:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self._tasks: list[asyncio.Task[None]] = []

    async def _loop(self, job: Job) -> None:
        faults = FailureStreak(log, f"job {job.name}")
        while True:
            await run_once(job, faults)
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


class QueueLock:
    """Which process of several runs the periodic jobs and queue workers.

    PostgreSQL queues are claimed with `FOR UPDATE SKIP LOCKED`, so every process may
    work them. SQLite has no such claim: there, the process holding an exclusive lock on
    a file beside the database is the only one that does.
    """

    def __init__(self, database_url: str) -> None:
        path = db.sqlite_path(database_url)
        self.path = path.with_name(path.name + ".workers.lock") if path else None
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self.path is None:
            return True
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            log.info("another process runs the queue workers")
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
