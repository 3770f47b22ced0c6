"""An account's e-mail address: setting, changing and removing it, and confirming it.

An address is confirmed by following the link mailed to it (`email_tokens`, 48 hours).
Changing the address forgets the confirmation, cancels the mail still queued for the
account (it was meant for the old address) and sends a new link. A link confirms only
the address it was sent to: once the account's address changed, older links are void.

Changes after sign-up are recorded in the audit log as "account.email" (without the
address): `password_reset` needs to know whether an unconfirmed address is the one
the account was made with.
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from node import db, uris, validation
from node.config import Settings
from node.errors import InvalidInput
from node.i18n import N_
from node.mail_compose import compose
from node.models import Account, AuditEntry, MailKind, TokenPurpose
from node.services import audit, email_limits, email_tokens, mail_queue
from node.timeutil import utcnow

EMAIL_CHANGED = "account.email"
TAKEN = N_("another account uses this e-mail address")
# Confirmation links one account may have sent within an hour (sign-up, changes, resends).
CONFIRMATIONS_PER_HOUR = 5


async def check_free(address: str | None, account: Account | None = None) -> None:
    """InvalidInput on "email" when another account has `address` (compared lowercase)."""
    if not address:
        return
    others = Account.filter(email__iexact=address)
    if account is not None:
        others = others.exclude(id=account.id)
    if await others.exists():
        raise InvalidInput("email", TAKEN)


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

    InvalidInput on "email" for a malformed address or one another account has; then
    nothing is changed.
    """
    address = validation.email(raw)
    if address == account.email:
        return "unchanged"
    await check_free(address, account)
    old = account.email
    try:
        async with db.atomic():
            account.email = address
            account.email_confirmed_at = None
            await account.save(update_fields=["email", "email_confirmed_at"])
            await mail_queue.cancel_pending(account)
            change = "removed" if address is None else ("changed" if old else "added")
            await audit.record(
                account, EMAIL_CHANGED, f"account:{account.username}", detail={"change": change}
            )
    except IntegrityError:  # someone else took it between the check and the save
        account.email = old
        raise InvalidInput("email", TAKEN) from None
    if address is None:
        return "removed"
    sent = await send_confirmation(settings, account, node_name=node_name)
    return "sent" if sent else "not_sent"


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
    node sends no e-mail (the form then has no such field). InvalidInput on "email"."""
    if not settings.mail_enabled:
        return None
    address = validation.email(raw)
    if address is None and settings.signup_requires_email:
        raise InvalidInput("email", REQUIRED)
    await check_free(address)
    return address
