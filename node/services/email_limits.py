"""Limits on the e-mail a visitor can make the node send (password links, confirmations).

Without them anyone could make the node mail someone again and again (annoying the
person, and spoiling the node's name with mail providers). Each attempt is a
`RateEvent` row under a key starting with "email:", counted over `WINDOW`; the rows
are purged by a periodic job. An address is counted by its hash: these rows are not
a list of people's e-mail addresses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from node import db
from node.models import RateEvent
from node.services.signup_limits import address_key
from node.timeutil import utcnow

PREFIX = "email:"
WINDOW = timedelta(hours=1)


def mailbox_key(kind: str, email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
    return f"{PREFIX}{kind}:mailbox:{digest[:32]}"


def client_key(kind: str, address: str | None) -> str | None:
    """The key of a client's address (IPv6 by its /64), or None when unknown."""
    key = address_key(address)
    return None if key is None else f"{PREFIX}{kind}:client:{key}"


def account_key(kind: str, account_id: int) -> str:
    return f"{PREFIX}{kind}:account:{account_id}"


async def admit(limits: Sequence[tuple[str | None, int]], now: datetime | None = None) -> bool:
    """Count one attempt under each (key, limit); False, counting nothing, when one of the
    keys has had `limit` attempts within the window already. A None key is skipped."""
    now = now or utcnow()
    keys = [(key, limit) for key, limit in limits if key is not None]
    async with db.atomic():
        for key, limit in keys:
            if await RateEvent.filter(key=key, at__gt=now - WINDOW).count() >= limit:
                return False
        await RateEvent.bulk_create([RateEvent(key=key, at=now) for key, _ in keys])
    return True


async def purge_old(now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - WINDOW
    return await RateEvent.filter(key__startswith=PREFIX, at__lte=cutoff).delete()
