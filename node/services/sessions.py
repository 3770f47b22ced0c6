"""Log-in sessions: a random token in the browser's cookie, its hash in the database.

Every log-in starts a new session (so a token planted before log-in is worthless),
log-out ends it, and a password change ends all the others.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta

from node import raw_sql
from node.models import Account, Session
from node.timeutil import utcnow

LIFETIME = timedelta(days=30)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def start_session(account: Account) -> str:
    """A new session for `account`; returns the token to put in the cookie."""
    token = secrets.token_urlsafe(32)
    await Session.create(token_hash=_digest(token), account=account, expires_at=utcnow() + LIFETIME)
    return token


# Every logged-in request asks this first: one hand-written statement whose row becomes
# the same Account instance tortoise builds (`raw_sql.Shape`); the ORM's select_related
# cost more CPU building the query and converting the row than the lookup itself.
@functools.cache
def _account_shape() -> raw_sql.Shape[Account]:
    # Built on first use: the model's foreign-key columns are known once tortoise is set up.
    return raw_sql.Shape(Account, "a")


async def account_for(token: str | None) -> Account | None:
    """The active account of a live session, or None (unknown, expired or suspended)."""
    if not token or len(token) > 100:
        return None
    shape = _account_shape()
    found = await raw_sql.rows(
        f"SELECT {shape.sql} FROM sessions s JOIN accounts a ON a.id = s.account_id"  # noqa: S608
        " WHERE s.token_hash = ? AND s.expires_at > ?",
        [_digest(token), utcnow()],
    )
    if not found:
        return None
    account = shape.build(found[0], 0, raw_sql.text_dates())
    return account if account.is_active else None


async def end_session(token: str | None) -> None:
    if token:
        await Session.filter(token_hash=_digest(token)).delete()


async def end_other_sessions(account: Account, keep: str | None) -> int:
    """End every session of `account` except the one holding `keep`."""
    query = Session.filter(account_id=account.id)
    if keep:
        query = query.exclude(token_hash=_digest(keep))
    return await query.delete()


async def purge_expired(now: datetime | None = None) -> int:
    return await Session.filter(expires_at__lte=now or utcnow()).delete()
