"""An account's e-mail address: setting, changing and removing it, and confirming it.

An address is confirmed by following the link mailed to it (`email_tokens`, 48 hours).
Changing the address forgets the confirmation, cancels the mail still queued for the
account (it was meant for the old address) and sends a new link. A link confirms only
the address it was sent to: once the account's address changed, older links are void.

Changes after sign-up are recorded in the audit log as "account.email" (without the
address): `password_reset` needs to know whether an unconfirmed address is the one
the account was made with.

An address another account has (compared lowercase) is never refused out loud: that
would tell anyone who has an account here. The person is answered as for a free
address ("we sent a link to it"), their account is left as it was (at sign-up: made
without an address), and the address's owner gets a notice instead ("someone tried to
use your address; log in as ... or set a new password"), limited per mailbox like the
other links. So that the settings page also shows what a new address shows, a
confirmation token for the address is stored whose secret is never sent (nobody can
use it): a "stand-in". Every real change deletes the unused stand-ins.
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from node import db, uris, validation
from node.config import Settings
from node.errors import InvalidInput
from node.i18n import N_
from node.mail_compose import compose
from node.models import Account, AuditEntry, EmailToken, MailKind, TokenPurpose
from node.services import audit, email_limits, email_tokens, mail_queue
from node.timeutil import utcnow

EMAIL_CHANGED = "account.email"
TAKEN = N_("another account uses this e-mail address")
# Confirmation links one account may have sent within an hour (sign-up, changes, resends).
CONFIRMATIONS_PER_HOUR = 5
# "Someone tried to use your address" notices one address may get within an hour.
IN_USE_PER_HOUR = 3


async def owner_of(address: str | None, account: Account | None = None) -> Account | None:
    """The other account that has `address` (compared lowercase), if any."""
    if not address:
        return None
    others = Account.filter(email__iexact=address)
    if account is not None:
        others = others.exclude(id=account.id)
    return await others.first()


def language_of(settings: Settings, account: Account) -> str:
    """The account's first language the node speaks, else the node's default."""
    for language in account.languages:
        if language in settings.languages:
            return language
    return settings.default_language


async def send_confirmation(
    settings: Settings, account: Account, *, node_name: str | None = None
) -> bool:
    """Queue a confirmation link to the account's address; False when nothing was queued
    (no e-mail on this node, no address, already confirmed, or too many this hour)."""
    if not settings.mail_enabled or not account.email or account.email_confirmed_at:
        return False
    key = email_limits.account_key("confirm", account.id)
    if not await email_limits.admit([(key, CONFIRMATIONS_PER_HOUR)]):
        return False
    async with db.atomic():
        secret = await email_tokens.issue(account, TokenPurpose.CONFIRM, account.email)
        language = language_of(settings, account)
        lifetime = email_tokens.LIFETIMES[TokenPurpose.CONFIRM]
        message = compose(
            settings,
            "confirm_email",
            language,
            username=account.username,
            recipient_name=account.display_name,
            email=account.email,
            link=f"{settings.public_url}{uris.CONFIRM_EMAIL}/{secret}",
            hours=int(lifetime.total_seconds() // 3600),
            **({"node_name": node_name} if node_name else {}),
        )
        await mail_queue.enqueue(
            settings,
            to=account.email,
            kind=MailKind.CONFIRM,
            language=language,
            subject=message.subject,
            text=message.text,
            html=message.html,
            account=account,
        )
    return True


async def set_email(
    settings: Settings, account: Account, raw: str | None, *, node_name: str | None = None
) -> str:
    """Set, change or (empty `raw`) remove the account's address. Returns "unchanged",
    "removed", "sent" (a new address, its confirmation link queued) or "not_sent" (a new
    address, but too many links this hour: the person asks again later).

    InvalidInput on "email" for a malformed address; then nothing is changed. An address
    another account has gets the same answer as a free one, and changes nothing (the
    module's docstring says why and what happens instead).
    """
    address = validation.email(raw)
    if address == account.email:
        if not await _drop_stand_ins(account):
            return "unchanged"
        if address is None:
            return "removed"
        # Back to its own address after a stand-in: done as going back from a new
        # address is (confirmed anew), or the answer would tell that one was taken.
    owner = await owner_of(address, account)
    if address is not None and owner is not None:
        return await _in_use(settings, account, owner, address, "settings", node_name)
    old = account.email
    try:
        async with db.atomic():
            account.email = address
            account.email_confirmed_at = None
            await account.save(update_fields=["email", "email_confirmed_at"])
            await _drop_stand_ins(account)
            await mail_queue.cancel_pending(account)
            change = "removed" if address is None else ("changed" if old else "added")
            await audit.record(
                account, EMAIL_CHANGED, f"account:{account.username}", detail={"change": change}
            )
    except IntegrityError:  # someone else took it between the check and the save
        account.email = old
        owner = await owner_of(address, account)
        if address is None or owner is None:
            raise InvalidInput("email", TAKEN) from None
        return await _in_use(settings, account, owner, address, "settings", node_name)
    if address is None:
        return "removed"
    sent = await send_confirmation(settings, account, node_name=node_name)
    return "sent" if sent else "not_sent"


async def _drop_stand_ins(account: Account) -> int:
    """Delete the account's unused confirmation tokens for other addresses than its own
    (stand-ins, and links made void by a change)."""
    return (
        await EmailToken.filter(account_id=account.id, purpose=TokenPurpose.CONFIRM, used_at=None)
        .exclude(email=account.email or "")
        .delete()
    )


async def _stand_in(account: Account) -> EmailToken | None:
    """The account's stand-in for an address another account has, if it has one: its
    latest unused confirmation token is for such an address (expired or not: a real
    unconfirmed address stays shown too)."""
    token = (
        await EmailToken.filter(account_id=account.id, purpose=TokenPurpose.CONFIRM)
        .order_by("-id")
        .first()
    )
    if token is None or token.used_at is not None or token.email == account.email:
        return None
    return token if await owner_of(token.email, account) is not None else None


async def shown(account: Account) -> tuple[str | None, bool]:
    """The address the settings page shows, and whether it is confirmed: a stand-in's
    address (never confirmed) like a new address, else the account's own."""
    token = await _stand_in(account)
    if token is not None:
        return token.email, False
    return account.email, account.email_confirmed_at is not None


async def notify_owner(
    settings: Settings, owner: Account, attempt: str, *, node_name: str | None = None
) -> bool:
    """Tell `owner` that someone tried to use their address (`attempt`: "signup" or
    "settings"); False when nothing was queued (no e-mail here, a suspended account,
    or this address had its share of these notices this hour)."""
    if not settings.mail_enabled or not owner.email or not owner.is_active:
        return False
    key = email_limits.mailbox_key("in_use", owner.email)
    if not await email_limits.admit([(key, IN_USE_PER_HOUR)]):
        return False
    language = language_of(settings, owner)
    message = compose(
        settings,
        "address_in_use",
        language,
        username=owner.username,
        recipient_name=owner.display_name,
        attempt=attempt,
        link=f"{settings.public_url}{uris.PASSWORD_RESET}",
        **({"node_name": node_name} if node_name else {}),
    )
    async with db.atomic():
        await mail_queue.enqueue(
            settings,
            to=owner.email,
            kind=MailKind.CONFIRM,  # transactional, like the links: no unsubscribe
            language=language,
            subject=message.subject,
            text=message.text,
            html=message.html,
            account=owner,
        )
    return True


async def _in_use(
    settings: Settings,
    account: Account,
    owner: Account,
    address: str,
    attempt: str,
    node_name: str | None,
) -> str:
    """What a free address gets, for one `owner` has: counted against the account's
    confirmation links as a real one would be, a stand-in, and the owner's notice."""
    key = email_limits.account_key("confirm", account.id)
    admitted = await email_limits.admit([(key, CONFIRMATIONS_PER_HOUR)])
    # The secret is thrown away: this token only marks what the settings page shows.
    await email_tokens.issue(account, TokenPurpose.CONFIRM, address)
    if admitted:
        await notify_owner(settings, owner, attempt, node_name=node_name)
    return "sent" if admitted else "not_sent"


async def resend(settings: Settings, account: Account, *, node_name: str | None = None) -> bool:
    """The settings page's "send the link again": to the address it shows (for a
    stand-in, the owner's notice again); False when nothing was sent."""
    token = await _stand_in(account)
    if token is None:
        return await send_confirmation(settings, account, node_name=node_name)
    owner = await owner_of(token.email, account)
    assert owner is not None
    return await _in_use(settings, account, owner, token.email, "settings", node_name) == "sent"


async def after_signup(
    settings: Settings, account: Account, typed: str | None, *, node_name: str | None = None
) -> bool:
    """Send the new account's confirmation link; when the address it typed is another
    account's (so it was made without one), the stand-in and the owner's notice."""
    if account.email or not typed or not settings.mail_enabled:
        return await send_confirmation(settings, account, node_name=node_name)
    owner = await owner_of(typed, account)
    if owner is None:
        return False
    return await _in_use(settings, account, owner, typed, "signup", node_name) == "sent"


async def remove_email(account: Account) -> bool:
    """Forget the account's address (and its queued mail); True when there was one."""
    if account.email is None:
        return False
    async with db.atomic():
        account.email = None
        account.email_confirmed_at = None
        await account.save(update_fields=["email", "email_confirmed_at"])
        await mail_queue.cancel_pending(account)
        await audit.record(
            account, EMAIL_CHANGED, f"account:{account.username}", detail={"change": "removed"}
        )
    return True


async def ever_changed(account: Account) -> bool:
    """Whether the account's address was set or changed after sign-up."""
    return await AuditEntry.exists(action=EMAIL_CHANGED, actor_id=account.id)


async def pending_confirmation(secret: str | None) -> Account:
    """The account a confirmation link is for, while it can still be used (the page the
    link opens shows a button: mail filters that open links must not confirm)."""
    token = await email_tokens.check(secret, TokenPurpose.CONFIRM)
    if token.email != token.account.email:
        raise email_tokens.TokenRefused(email_tokens.TokenState.INVALID)
    return token.account


async def confirm(secret: str | None) -> Account:
    """Confirm the address the link was sent to; TokenRefused (nothing changed) when the
    link is used, expired, unknown, or for an address the account no longer has."""
    async with db.atomic():
        token = await email_tokens.consume(secret, TokenPurpose.CONFIRM)
        account = token.account
        if token.email != account.email or not account.is_active:
            # The rollback leaves the link unused; it stays void all the same.
            raise email_tokens.TokenRefused(email_tokens.TokenState.INVALID)
        if account.email_confirmed_at is None:
            account.email_confirmed_at = utcnow()
            await account.save(update_fields=["email_confirmed_at"])
    return account


REQUIRED = N_("this node asks for an e-mail address")


async def for_signup(settings: Settings, raw: str | None) -> str | None:
    """The address typed at sign-up, checked; None when none was given, or when this
    node sends no e-mail (the form then has no such field). InvalidInput on "email".
    It may be another account's: see `free_or_none` and `after_signup`."""
    if not settings.mail_enabled:
        return None
    address = validation.email(raw)
    if address is None and settings.signup_requires_email:
        raise InvalidInput("email", REQUIRED)
    return address


async def free_or_none(address: str | None) -> str | None:
    """`address` when no account has it, else None: the account made at sign-up then
    has no address (the person is told nothing else; `after_signup` mails the owner)."""
    return None if await owner_of(address) is not None else address
