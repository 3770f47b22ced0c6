"""Limits on sign-ups, per address and for the whole node per hour, shared by all processes.

A sign-up that passes the cheap checks costs an argon2 hash (about 0.3 s of CPU and
64 MiB). Without a limit anyone could keep the server busy by signing up again and
again. What is counted is every attempt that reached that cost, whether or not an
account came of it; attempts refused by the cheap checks (a taken name, a bad field)
cost nothing and are not counted.

- Per address (`signups_per_address_per_hour`): an IPv6 address counts with its whole
  /64 network, which one household or machine usually has to itself.
- Per node (`signups_per_hour`): against many addresses at once. A sign-up with a staff
  invitation is counted here but never refused by it: a coordinator chose those people
  (a group signing up at a neighbourhood house, say), the link has a limited number of
  uses and can be revoked, so a flood of other sign-ups must not lock them out. The
  per-address limit still applies to it: a leaked link must not let one machine burn
  the server.
- 0 turns a limit off.

Counting and refusing happen in one short transaction that holds a lock (a PostgreSQL
advisory lock shared by all processes; on SQLite, which runs one process, the
transaction itself), so that attempts arriving at the same moment are counted one after
the other: none gets through over the limit, and none is refused while there is room.
Rows older than the window are purged by a periodic job.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from tortoise.transactions import in_transaction

from node.config import Settings
from node.errors import RateLimited
from node.models import RateEvent
from node.timeutil import utcnow

WINDOW = timedelta(hours=1)
PREFIX = "signup:"
NODE_KEY = PREFIX + "node"
# The PostgreSQL advisory lock that makes counting one sign-up at a time (any fixed number
# no other part of the node uses).
_LOCK = 0x5167_6E55


@dataclass(frozen=True, slots=True)
class Limits:
    """How many sign-ups an hour; 0: no limit."""

    per_address: int = 0
    per_hour: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(settings.signups_per_address_per_hour, settings.signups_per_hour)


class SignupsLimited(RateLimited):
    """Too many sign-ups from this address (`scope` "address") or on the node ("node")."""

    def __init__(self, scope: Literal["address", "node"], retry_after: int) -> None:
        super().__init__(f"too many sign-ups ({scope})", retry_after=retry_after)
        self.scope = scope


def address_key(address: str | None) -> str | None:
    """The key an address counts under: itself, or its /64 network for IPv6."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # not an IP address (a test client's name): counted as given
        return PREFIX + "address:" + address[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        else:
            return PREFIX + "address:" + str(ipaddress.IPv6Network((ip, 64), strict=False))
    return PREFIX + "address:" + str(ip)


async def _seconds_until_room(key: str, limit: int, now: datetime) -> int:
    """Seconds until fewer than `limit` attempts of `key` remain in the window."""
    recent = await RateEvent.filter(key=key, at__gt=now - WINDOW).order_by("-at").limit(limit)
    if len(recent) < limit:
        return 1
    return max(1, math.ceil((recent[-1].at + WINDOW - now).total_seconds()))


async def admit(
    address: str | None,
    limits: Limits,
    *,
    staff_invite: bool = False,
    now: datetime | None = None,
) -> None:
    """Count one sign-up attempt that is about to do the costly work, or refuse it with
    SignupsLimited (and count nothing). Call it outside a transaction: the count must
    be committed, for the other processes to see, before the costly work starts."""
    now = now or utcnow()
    checks: list[tuple[Literal["address", "node"], str, int]] = []
    by_address = address_key(address)
    if by_address and limits.per_address > 0:
        checks.append(("address", by_address, limits.per_address))
    if limits.per_hour > 0:
        # Staff invitations count towards the node's hour, but are not refused by it.
        checks.append(("node", NODE_KEY, 0 if staff_invite else limits.per_hour))
    if not checks:
        return
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres":
            await conn.execute_query(f"SELECT pg_advisory_xact_lock({_LOCK})")
        for scope, key, limit in checks:
            if limit and await RateEvent.filter(key=key, at__gt=now - WINDOW).count() >= limit:
                raise SignupsLimited(scope, await _seconds_until_room(key, limit, now))
        await RateEvent.bulk_create([RateEvent(key=key, at=now) for _, key, _ in checks])


async def purge_old(now: datetime | None = None) -> int:
    """Forget sign-up attempts older than the window (other limits keep their rows)."""
    cutoff = (now or utcnow()) - WINDOW
    return await RateEvent.filter(key__startswith=PREFIX, at__lte=cutoff).delete()
