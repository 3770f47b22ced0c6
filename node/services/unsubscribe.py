"""One-click unsubscribe: the link at the foot of every notification e-mail.

The token is `{account id}.{mac}`, where the MAC is an HMAC-SHA256 of ("unsubscribe",
the account id, its current e-mail address) under a key derived from the node's secret.
No database row: the link works as long as the address is the same, and changing the
address voids every link sent to the old one (someone who gave their old address away
cannot have the new owner turn off their mail, nor the reverse).

`apply` turns off everything this node mails unasked (notifications, immediate or daily,
and the digest of new requests) and cancels such mail still in the queue. Confirmation
and password-reset mail are answers to what the person just did: they carry no link and
are not cancelled. A mail client sends the RFC 8058 one-click POST with no cookie and no
CSRF token, so the token alone is the authority: it is compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from node import db, uris, validation
from node.config import Settings
from node.models import Account, MailFrequency, MailKind, MailMessage
from node.services import node_setup
from node.states import MailStatus

PURPOSE = "unsubscribe"
# Mail this link stops; confirmations and resets are not notifications.
NOTIFICATION_KINDS = (MailKind.NOTIFY, MailKind.DIGEST)
_MAX_TOKEN = 80  # an id of at most 12 digits, a dot and 43 characters of MAC
# An uninitialised node (tests building rows themselves) has no stored secret: a key for
# this process only, as the CSRF key does. `nabuur init` always stores one.
_PROCESS_SECRET = secrets.token_urlsafe(48)


async def _key(settings: Settings) -> bytes:
    secret = settings.secret_key or await node_setup.secret_key_or_none() or _PROCESS_SECRET
    return hashlib.sha256(b"nabuur-unsubscribe\0" + secret.encode()).digest()


def _mac(key: bytes, account_id: int, address: str) -> str:
    message = f"{PURPOSE}\0{account_id}\0{address.strip().lower()}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def token(settings: Settings, account: Account) -> str:
    """The token for `account`'s current address (it must have one)."""
    if not account.email:
        raise ValueError("an account without an e-mail address has nothing to unsubscribe")
    return f"{account.id}.{_mac(await _key(settings), account.id, account.email)}"


async def link(settings: Settings, account: Account) -> str:
    """The absolute unsubscribe URL for `account`."""
    return uris.absolute(settings, f"{uris.UNSUBSCRIBE}/{await token(settings, account)}")


async def headers(settings: Settings, account: Account) -> dict[str, str]:
    """The RFC 2369 / RFC 8058 headers: mail clients show their own unsubscribe button."""
    return {
        "List-Unsubscribe": f"<{await link(settings, account)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


async def check(settings: Settings, value: str) -> Account | None:
    """The account `value` is a valid token for, or None (malformed, forged, or made for
    an address the account no longer has)."""
    if not value or len(value) > _MAX_TOKEN or not value.isascii():
        return None
    account_part, _, mac = value.partition(".")
    # `as_id`: a number PostgreSQL's integer column cannot hold is no account (not a 500).
    account_id = validation.as_id(account_part)
    if account_id is None or not mac:
        return None
    account = await Account.get_or_none(id=account_id)
    if account is None or not account.email:
        return None
    expected = _mac(await _key(settings), account.id, account.email)
    return account if hmac.compare_digest(expected, mac) else None


async def apply(settings: Settings, value: str) -> Account | None:
    """Stop all notification e-mail for the token's account; None for a bad token
    (nothing changed). Applying it twice is harmless."""
    account = await check(settings, value)
    if account is None:
        return None
    async with db.atomic():
        account.mail_frequency = MailFrequency.NONE
        account.mail_new_requests = False
        await account.save(update_fields=["mail_frequency", "mail_new_requests"])
        await MailMessage.filter(
            account_id=account.id, status=MailStatus.PENDING, kind__in=NOTIFICATION_KINDS
        ).update(status=MailStatus.CANCELLED)
    return account
