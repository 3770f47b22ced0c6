"""Log-in sessions: a random token in the browser's cookie, its hash in the database.

Every log-in starts a new session (so a token planted before log-in is worthless),
log-out ends it, and a password change ends all the others.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

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


async def account_for(token: str | None) -> Account | None:
    """The active account of a live session, or None (unknown, expired or suspended)."""
    if not token or len(token) > 100:
        return None
    session = await Session.get_or_none(
        token_hash=_digest(token), expires_at__gt=utcnow()
    ).select_related("account")
    if session is None or not session.account.is_active:
        return None
    return session.account


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
