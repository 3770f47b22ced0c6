"""Password hashing with argon2id, run in a thread so the event loop keeps serving.

One hash or verify takes 140-280 ms of CPU and 64 MiB of memory on this class of
machine. argon2 is loaded with the first password hashed or checked, not at start-up.

At most `HASH_CONCURRENCY` hashes and verifications run at once in a process (sign-ups,
log-ins, password changes together): a burst of them waits its turn instead of taking
every core and the memory of the machine. Waiting is not failing: every call gets its
answer, later. `stats` counts them, for the log and the tests.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from argon2 import PasswordHasher

T = TypeVar("T")


def _usable_cpus() -> int:
    # The cores this process may run on (a container or taskset may give fewer than the
    # machine has); at most 8, since each hash holds 64 MiB while it runs.
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        count = os.cpu_count() or 1
    return max(1, min(count, 8))


HASH_CONCURRENCY = _usable_cpus()


@dataclass(slots=True)
class HashStats:
    """What the hashing threads did since the process started."""

    started: int = 0  # hashes and verifications begun
    running: int = 0  # running at this moment
    peak: int = 0  # the most that ever ran at the same time


stats = HashStats()
_stats_lock = threading.Lock()
# One gate per event loop: an asyncio semaphore belongs to the loop that first waits on
# it, and tests (and `asyncio.run` in commands) start loops of their own.
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(HASH_CONCURRENCY)
    return gate


def _counted(func: Callable[..., T], *args: object) -> T:
    with _stats_lock:
        stats.started += 1
        stats.running += 1
        stats.peak = max(stats.peak, stats.running)
    try:
        return func(*args)
    finally:
        with _stats_lock:
            stats.running -= 1


async def _capped(func: Callable[..., T], *args: object) -> T:
    """Run `func` in a thread once a place is free; the place is held until the thread
    ends, even when the caller gives up (a closed connection): the CPU is spent anyway."""
    gate = _gate()
    await gate.acquire()
    work = asyncio.ensure_future(asyncio.to_thread(_counted, func, *args))
    work.add_done_callback(lambda _: gate.release())
    return await asyncio.shield(work)


@functools.cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so a missing account costs the
    same time as a wrong password and usernames cannot be probed by timing. Made on first
    use: a hash takes 64 MiB for a moment, which `nabuur run` should not pay at start."""
    return _hasher().hash("nabuur-dummy-password")


def _hash(password: str) -> str:
    return _hasher().hash(password)


async def hash_password(password: str) -> str:
    return await _capped(_hash, password)


def _verify(stored: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    return await _capped(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    return _hasher().check_needs_rehash(stored)
