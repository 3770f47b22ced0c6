"""Setting a new password through a link mailed to the account's address (1 hour, once).

`request` answers the same whether or not an account has the address, so the form
tells nobody who has an account here. It is limited per address (a few links an hour:
nobody's mailbox is flooded) and per client address; only the latter is told to the
caller, and it counts every request, so that answer says nothing about the address.

Which address a link goes to: a confirmed one, or an unconfirmed one that is the only
address the account ever had (given at sign-up, never changed since). Someone who
signed up and never clicked the confirmation link is not locked out for good; but an
address set or changed later and not confirmed gets no link, so that a person who
had someone's session for a moment cannot add their own address and take the account
back later with it. Following a link proves the mailbox is the owner's: it confirms
the address too.
"""

from __future__ import annotations

from node import db, uris, validation
from node.config import Settings
from node.errors import InvalidInput, RateLimited
from node.i18n import N_
from node.mail_compose import compose
from node.models import Account, MailKind, TokenPurpose
from node.passwords import hash_password
from node.services import email_addresses, email_limits, email_tokens, mail_queue, sessions
from node.services.accounts import check_password
from node.timeutil import utcnow

PER_MAILBOX = 3  # links an hour to one address
PER_CLIENT = 10  # requests an hour from one client address (an IPv6 /64)


async def _recipient(address: str) -> Account | None:
    account = await Account.get_or_none(email__iexact=address, is_active=True)
    if account is None or account.email is None:
        return None
    if account.email_confirmed_at is None and await email_addresses.ever_changed(account):
        return None
    return account


async def request(
    settings: Settings, typed: str | None, client: str | None, *, node_name: str | None = None
) -> None:
    """Mail a link to set a new password if an account may get one at `typed`.

    Returns nothing either way. RateLimited only for too many requests from `client`;
    InvalidInput for something that is no e-mail address at all (says nothing either).
    """
    address = validation.email(typed)
    if address is None:
        raise InvalidInput("email", N_("needs an e-mail address"))
    if not settings.mail_enabled:
        return
    if not await email_limits.admit([(email_limits.client_key("reset", client), PER_CLIENT)]):
        raise RateLimited("too many password links asked for", retry_after=3600)
    if not await email_limits.admit([(email_limits.mailbox_key("reset", address), PER_MAILBOX)]):
        return  # quietly: saying so would tell that someone asked before
    account = await _recipient(address)
    if account is None:
        return
    language = email_addresses.language_of(settings, account)
    lifetime = email_tokens.LIFETIMES[TokenPurpose.RESET]
    async with db.atomic():
        secret = await email_tokens.issue(account, TokenPurpose.RESET, address)
        message = compose(
            settings,
            "password_reset",
            language,
            username=account.username,
            recipient_name=account.display_name,
            link=f"{settings.public_url}{uris.PASSWORD_RESET}/{secret}",
            minutes=int(lifetime.total_seconds() // 60),
            **({"node_name": node_name} if node_name else {}),
        )
        await mail_queue.enqueue(
            settings,
            to=address,
            kind=MailKind.RESET,
            language=language,
            subject=message.subject,
            text=message.text,
            html=message.html,
            account=account,
        )


async def pending(secret: str | None) -> Account:
    """The account a link is for while it can be used; TokenRefused otherwise."""
    token = await email_tokens.check(secret, TokenPurpose.RESET)
    if token.email != token.account.email or not token.account.is_active:
        raise email_tokens.TokenRefused(email_tokens.TokenState.INVALID)
    return token.account


async def reset(secret: str | None, new_password: str | None) -> Account:
    """Set a new password with a link: checked as at sign-up, the link used up, every
    session of the account ended. InvalidInput ("password") or TokenRefused, and then
    nothing changed (a bad password leaves the link usable)."""
    check_password(new_password)
    await pending(secret)  # refuse a bad link before the costly hash
    assert new_password is not None
    password_hash = await hash_password(new_password)
    async with db.atomic():
        token = await email_tokens.consume(secret, TokenPurpose.RESET)
        account = token.account
        if token.email != account.email or not account.is_active:
            raise email_tokens.TokenRefused(email_tokens.TokenState.INVALID)
        account.password_hash = password_hash
        fields = ["password_hash"]
        if account.email_confirmed_at is None:
            account.email_confirmed_at = utcnow()
            fields.append("email_confirmed_at")
        await account.save(update_fields=fields)
        await sessions.end_other_sessions(account, keep=None)
    return account
