"""The secrets in e-mailed links (confirm an address, set a new password): single use.

A link carries a random secret (`secrets.token_urlsafe(32)`: 256 bits); the database
holds only its SHA-256, so a copy of the database (a backup) opens nothing. A secret
is looked up by that hash: whoever times the lookup learns about hashes of their
guesses, not about any stored secret, so no constant-time comparison is needed on top.

A token is used at most once: `consume` marks it used with one conditional UPDATE
(unused and unexpired), which exactly one of two simultaneous requests wins, on both
databases. Call it inside the transaction that makes the change the link is for, so
a failed change leaves the link usable.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from node.models import Account, EmailToken, TokenPurpose
from node.timeutil import utcnow

LIFETIMES = {
    TokenPurpose.CONFIRM: timedelta(hours=48),
    TokenPurpose.RESET: timedelta(hours=1),
}
# What `secrets.token_urlsafe(32)` gives (43 characters); anything else is no token of
# ours and is refused without a query.
_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
# Used and expired tokens are kept this long (so a late click says "used" or "expired"
# rather than "unknown"), then purged.
KEEP = timedelta(days=7)


class TokenState(enum.StrEnum):
    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    INVALID = "invalid"  # unknown, malformed, or for something else


class TokenRefused(Exception):
    """The link cannot be used; `state` says why (used, expired or invalid)."""

    def __init__(self, state: TokenState) -> None:
        super().__init__(f"link {state}")  # never the secret: this may be logged
        self.state = state


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def well_formed(secret: str | None) -> bool:
    return secret is not None and _SHAPE.fullmatch(secret) is not None


async def issue(account: Account, purpose: TokenPurpose, email: str) -> str:
    """A new secret for `account`'s link to `email`; returns it (only the hash is kept).

    A new password link voids the older unused ones: only the latest mail works.
    """
    now = utcnow()
    if purpose == TokenPurpose.RESET:
        await EmailToken.filter(account_id=account.id, purpose=purpose, used_at=None).delete()
    secret = secrets.token_urlsafe(32)
    await EmailToken.create(
        account=account,
        purpose=purpose,
        token_hash=digest(secret),
        email=email,
        expires_at=now + LIFETIMES[purpose],
    )
    return secret


def _state(token: EmailToken | None, now: datetime) -> TokenState:
    if token is None:
        return TokenState.INVALID
    if token.used_at is not None:
        return TokenState.USED
    if token.expires_at <= now:
        return TokenState.EXPIRED
    return TokenState.VALID


async def _find(secret: str | None, purpose: TokenPurpose) -> EmailToken | None:
    if not well_formed(secret):
        return None
    assert secret is not None
    return await EmailToken.get_or_none(token_hash=digest(secret), purpose=purpose)


async def check(secret: str | None, purpose: TokenPurpose) -> EmailToken:
    """The token while it is usable (with its account), without using it; else
    TokenRefused. For the page a link opens, before the person confirms."""
    token = await _find(secret, purpose)
    state = _state(token, utcnow())
    if state != TokenState.VALID:
        raise TokenRefused(state)
    assert token is not None
    await token.fetch_related("account")
    return token


async def consume(secret: str | None, purpose: TokenPurpose) -> EmailToken:
    """Use the token once (with its account loaded); TokenRefused when it is used,
    expired or unknown. Call it in the transaction of the change it authorises."""
    now = utcnow()
    if not well_formed(secret):
        raise TokenRefused(TokenState.INVALID)
    assert secret is not None
    hashed = digest(secret)
    won = await EmailToken.filter(
        token_hash=hashed, purpose=purpose, used_at=None, expires_at__gt=now
    ).update(used_at=now)
    token = await EmailToken.get_or_none(token_hash=hashed, purpose=purpose)
    if not won:
        raise TokenRefused(_state(token, now))
    assert token is not None
    await token.fetch_related("account")
    return token


async def purge_old(now: datetime | None = None) -> int:
    """Forget links that expired more than `KEEP` ago (used or not)."""
    return await EmailToken.filter(expires_at__lte=(now or utcnow()) - KEEP).delete()
