"""A few threads that sign requests while the event loop goes on sending.

An RSA-2048 signature costs about a millisecond of CPU, more than everything else a
delivery does, and `cryptography` releases the GIL while it signs: two threads sign
about 1,500 a second on two cores where the event loop alone signed about 870.

Lighter than `loop.run_in_executor` with a ThreadPoolExecutor, which costs the loop
about 60 µs a call in futures, locks and callbacks (35 µs more than this, measured with
a fan-out's 64 calls in flight): a job is a tuple on a queue, and its answer comes back
with one `call_soon_threadsafe`. The queue has no bound of its own: its callers are
bounded (the delivery worker has at most DELIVERY_CONCURRENCY requests in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

# Two threads: one per core of a small server; more would only queue for the same cores.
SIGNING_THREADS = 2

_Job = tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any], asyncio.AbstractEventLoop]
_jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
_started = 0
_start_lock = threading.Lock()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # its caller was cancelled (a stopping worker): nobody waits
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _work() -> None:
    while True:
        function, args, future, loop = _jobs.get()
        result, error = None, None
        try:
            result = function(*args)
        except BaseException as exc:  # handed to the caller, as an executor would
            error = exc
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
            loop.call_soon_threadsafe(_settle, future, result, error)
        del function, args, future, loop, result, error  # hold nothing while idle


def _ensure_threads() -> None:
    # Started with the first signature: a node that never delivers has no threads.
    global _started
    if _started >= SIGNING_THREADS:
        return
    with _start_lock:
        while _started < SIGNING_THREADS:
            threading.Thread(target=_work, name=f"nabuur-sign-{_started}", daemon=True).start()
            _started += 1


def run(function: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
    """`function(*args)` in a signing thread; await the returned future for its result."""
    _ensure_threads()
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    _jobs.put((function, args, future, loop))
    return future
