"""Claims on queue rows that last while a worker works on them, and not much longer.

A worker claims rows by setting their `locked_until` to now + the lease; other workers
skip claimed rows until then (`claimable`). A process that is killed (`kill -9`, a power
cut, the OOM killer) releases nothing, so the lease is short (30 s by default) and the
process renews it, every third of its length, for the rows it still works on
(`Leases.renew`, called by the queue loop's heartbeat): a row whose worker died is taken
over within one lease, and a slow one is never taken from a live worker. A process that
stops cleanly releases what it still holds at once (`Leases.release`).

Without a column naming the holder, a renewal cannot tell our claim from a later one of
another worker whose lease began after ours ran out (our process stalled for a whole
lease): it then extends theirs, which only delays a retry. Each queue passes the
condition of a row still claimed (`still_claimed`): a finished row is never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.models import Model

from node.config import Settings
from node.timeutil import utcnow

log = logging.getLogger("nabuur.leases")


def claimable(now: datetime) -> Q:
    """Rows nobody holds: never claimed, released, or their holder's lease ran out."""
    return Q(locked_until=None) | Q(locked_until__lt=now)


def claimable_sql(now_mark: str) -> str:
    """`claimable` for hand-written SQL; `now_mark` is the placeholder of the time."""
    return f"(locked_until IS NULL OR locked_until < {now_mark})"


def lease_length(settings: Settings) -> timedelta:
    """How long a claim on a queue row lasts unless renewed (every queue, one setting)."""
    return timedelta(seconds=settings.delivery_lease_seconds)


class Leases:
    """The rows of one queue (one model) that this process holds."""

    def __init__(self, model: type[Model], lease: timedelta, still_claimed: Q) -> None:
        if lease <= timedelta(0):
            raise ValueError("a lease must last some time")
        self.model = model
        self.lease = lease
        self.still_claimed = still_claimed
        self.held: set[int] = set()

    def until(self) -> datetime:
        """When a claim made or renewed now runs out."""
        return utcnow() + self.lease

    def hold(self, ids: Iterable[int]) -> None:
        self.held.update(ids)

    def drop(self, ids: Iterable[int]) -> None:
        """Forget rows whose outcome is written (or that another process may take)."""
        self.held.difference_update(ids)

    async def renew(self) -> int:
        """Extend the lease of every held row; returns how many rows were extended."""
        ids = sorted(self.held)
        if not ids:
            return 0
        return await self.model.filter(self.still_claimed, id__in=ids).update(
            locked_until=self.until()
        )

    async def release(self, ids: Iterable[int] | None = None) -> int:
        """Give rows back to the queue at once (all held rows by default).

        They are forgotten even when the update fails (the database is gone): their
        lease then runs out by itself.
        """
        chosen = sorted(self.held if ids is None else set(ids) & self.held)
        self.drop(chosen)
        if not chosen:
            return 0
        return await self.model.filter(self.still_claimed, id__in=chosen).update(locked_until=None)
