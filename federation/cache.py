"""A small in-process cache with expiry and a size bound, for the hot inbox path.

Each node process keeps its own: what another process changes (an admin blocking a
domain, an actor updated there) is seen here when the entry expires.
"""

from __future__ import annotations

import time
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    def __init__(self, ttl: float, limit: int = 10_000) -> None:
        self.ttl = ttl
        self.limit = limit
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            del self._items[key]
            return None
        return value

    def put(self, key: K, value: V) -> None:
        if len(self._items) >= self.limit:  # bounded: a flood of keys cannot grow it
            self._items.clear()
        self._items[key] = (time.monotonic() + self.ttl, value)

    def pop(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()
