"""Values that may be used once while they are valid (a signature on a GET of something
private, a single-use link): the first use stores the value's key, a second finds it.

The unique index on the key decides between two uses at the same moment, on both
databases: exactly one insert succeeds. Rows are kept until the value could no longer
be used anyway, then purged by a periodic job.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from node.models import UsedToken
from node.timeutil import utcnow

MAX_KEY_LENGTH = 100  # UsedToken.key


async def use_once(key: str, valid_until: datetime) -> bool:
    """Record the use of `key`; False when it was used before (and is still remembered).

    `valid_until` is when the value stops being accepted anyway: the key is kept until
    then, so that a second use within that time is always seen.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError("a used-token key is 1 to 100 characters")
    try:
        # Its own transaction (a savepoint inside another): on PostgreSQL a refused
        # insert would otherwise abort the caller's transaction.
        async with in_transaction():
            await UsedToken.create(key=key, expires_at=valid_until)
    except IntegrityError:
        return False
    return True


async def purge_expired(now: datetime | None = None) -> int:
    """Forget the keys of values that can no longer be used; returns how many."""
    return await UsedToken.filter(expires_at__lte=now or utcnow()).delete()
