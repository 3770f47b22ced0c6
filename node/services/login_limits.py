"""Rate limits on logging in, per account name and per address, shared by all processes.

Failures are rows in the database so that several server processes count together.
A success clears the account's count; the address keeps its count until the window ends.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from node.errors import RateLimited
from node.models import LoginFailure
from node.timeutil import utcnow

WINDOW = timedelta(minutes=15)
PER_ACCOUNT = 5
PER_ADDRESS = 20


def _keys(username: str, address: str | None) -> tuple[str, str | None]:
    account_key = "account:" + (username or "").strip().lower()[:100]
    return account_key, ("address:" + address[:100]) if address else None


async def _blocked_for(key: str, limit: int, now: datetime) -> int:
    """Seconds until `key` may try again; 0 when it may now."""
    recent = await LoginFailure.filter(key=key, at__gt=now - WINDOW).order_by("-at").limit(limit)
    if len(recent) < limit:
        return 0
    return max(1, math.ceil((recent[-1].at + WINDOW - now).total_seconds()))


async def check(username: str, address: str | None, now: datetime | None = None) -> None:
    """Raise RateLimited when this account name or this address failed too often."""
    now = now or utcnow()
    account_key, address_key = _keys(username, address)
    wait = await _blocked_for(account_key, PER_ACCOUNT, now)
    if address_key:
        wait = max(wait, await _blocked_for(address_key, PER_ADDRESS, now))
    if wait:
        raise RateLimited("too many failed log-ins", retry_after=wait)


async def record_failure(username: str, address: str | None, now: datetime | None = None) -> None:
    now = now or utcnow()
    account_key, address_key = _keys(username, address)
    rows = [LoginFailure(key=account_key, at=now)]
    if address_key:
        rows.append(LoginFailure(key=address_key, at=now))
    await LoginFailure.bulk_create(rows)


async def record_success(username: str) -> None:
    account_key, _ = _keys(username, None)
    await LoginFailure.filter(key=account_key).delete()


async def purge_old(now: datetime | None = None) -> int:
    return await LoginFailure.filter(at__lte=(now or utcnow()) - WINDOW).delete()
