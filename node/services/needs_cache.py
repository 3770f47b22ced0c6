"""A few minutes of memory for the needs figures a page shows.

Counting a year of posts and sorting them for exact medians takes a few hundred
milliseconds on a node with 100,000 posts; the figures barely move in five minutes. So
each server process keeps the figures of the last filters asked for, per scope, for
`FRESH_SECONDS`, and the page says how old they may be. Who may see a scope is checked
on every request before the cache is asked (the scope is part of the key), and the CSV
export is always computed afresh.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from node.services import needs
from node.services.needs import NeedsFigures, NeedsFilter
from node.services.needs_access import Scope

FRESH_SECONDS = 300
MAX_ENTRIES = 64  # filters kept per process; the oldest goes first

Key = tuple[object, ...]


class FiguresCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: OrderedDict[Key, tuple[float, NeedsFigures]] = OrderedDict()

    @staticmethod
    def key(scope: Scope, chosen: NeedsFilter) -> Key:
        org = scope.organisation.id if scope.organisation else None
        return (scope.kind, org, scope.neighbourhood_ids, chosen)

    async def figures(self, scope: Scope, chosen: NeedsFilter) -> NeedsFigures:
        """The page's figures (without the per-cell detail), at most FRESH_SECONDS old."""
        key = self.key(scope, chosen)
        now = self._clock()
        found = self._entries.get(key)
        if found is not None and now - found[0] < FRESH_SECONDS:
            self._entries.move_to_end(key)
            return found[1]
        result = await needs.figures(scope, chosen, detail=False)
        self._entries[key] = (now, result)
        self._entries.move_to_end(key)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
        return result
