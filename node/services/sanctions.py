"""Moderation actions (sanctions) and what they mean for everyone else.

Every action follows the same steps, in one transaction:

1. who acts: the node's moderators and admins (lifting a suspension: admins only); nobody
   sanctions themselves, and moderators never sanction admins or other moderators;
2. why: a reason is required (at most 500 characters), it is told to the person concerned
   and kept in the audit log;
3. the change itself, on the row locked for the transaction; doing it again when it is
   already so changes nothing and returns False (no second notice, event or audit entry:
   two reports about one post end in one hiding);
4. the audit entry (who, when, what, on what, why), the notification (kind MODERATION,
   `note` says what and why, in the recipient's language), and the event federation needs
   (PostHidden, ResponseHidden).

What the sanctions mean for pages, listings and documents is decided in
`node.services.removals`, so that the web pages, the feeds and the ActivityPub documents
all answer the same.

A suspension is reversible by an admin; after `FEDERATE_AFTER` without that, the
`federate-suspensions` job tells other servers once (AccountSuspensionFederated) and an
admin may still lift it here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from node import db, events, validation
from node.errors import InvalidInput, PermissionDenied
from node.i18n import LANGUAGE_NAMES, N_, gettext
from node.models import (
    Account,
    Delivery,
    DeliveryStatus,
    HelpPost,
    Notification,
    NotificationKind,
    OutboxActivity,
    RemoteActor,
    RemoteStanding,
    Response,
    Role,
    Session,
)
from node.services import audit, offer_closure, organisations
from node.timeutil import utcnow

REASON_MAX = 500
FEDERATE_AFTER = timedelta(days=30)

# What the person concerned is told (translated into their language when stored).
NOTES = {
    "post_hidden": N_("The moderators hid your post “%(title)s”. Reason: %(reason)s"),
    "response_hidden": N_("The moderators hid your response on “%(title)s”. Reason: %(reason)s"),
    "warned": N_("The moderators sent you a warning. Reason: %(reason)s"),
    "silenced": N_(
        "The moderators limited your account: your posts no longer appear in the lists "
        "of this node and reach only your followers. Reason: %(reason)s"
    ),
    "unsilenced": N_("The moderators lifted the limit on your account. Reason: %(reason)s"),
    "suspended": N_("The moderators suspended your account. Reason: %(reason)s"),
    "unsuspended": N_("An admin lifted the suspension of your account. Reason: %(reason)s"),
}


def check_reason(reason: str | None) -> str:
    """The moderator's reason, cleaned; InvalidInput when missing or too long."""
    return validation.text("reason", reason, max_len=REASON_MAX, required=True)


def _check_moderator(moderator: Account) -> None:
    if not moderator.is_active or moderator.role not in (Role.MODERATOR, Role.ADMIN):
        raise PermissionDenied("moderation is for the node's moderators and admins")


def _check_admin(admin: Account) -> None:
    if not admin.is_active or admin.role != Role.ADMIN:
        raise PermissionDenied("only the node's admins lift a suspension")


def _check_target(moderator: Account, account: Account) -> None:
    if account.id == moderator.id:
        raise PermissionDenied("nobody sanctions themselves")
    if moderator.role != Role.ADMIN and account.role in (Role.MODERATOR, Role.ADMIN):
        raise PermissionDenied("moderators do not sanction the node's staff")


# ---- posts and responses -------------------------------------------------------------


async def hide_post(moderator: Account, post: HelpPost, reason: str) -> bool:
    """Hide `post`: gone from pages, listings and feeds, its URL answers 410, a Delete
    goes to everyone who was sent it, its author is told why. False: already hidden.

    An organisation's coordinators may hide their organisation's own posts (the reports
    about them are routed to them): a commune's moderators need not chase an NGO's case."""
    coordinator = await organisations.is_coordinator(moderator, post.organisation_id)
    if not coordinator:
        _check_moderator(moderator)
    why = check_reason(reason)
    async with db.atomic():
        locked = await HelpPost.select_for_update().get(id=post.id)
        if locked.hidden_at is not None:
            return False
        author = await Account.get(id=locked.author_id)
        if author.id == moderator.id and not coordinator:
            raise PermissionDenied("nobody sanctions themselves")
        locked.hidden_at, locked.hidden_reason = utcnow(), why
        await locked.save(update_fields=["hidden_at", "hidden_reason", "updated_at"])
        await events.emit(events.PostHidden(post_id=str(locked.id)))
        await audit.record(moderator, "moderation.post_hidden", post=locked, reason=why)
        await _note(author, "post_hidden", why, post=locked)
        # The request is gone: offers still waiting are answered (from the node, not
        # naming the moderator). Nothing unhides a post, so none would be needed again.
        await offer_closure.close_waiting_offers(locked, by=None)
    post.hidden_at, post.hidden_reason = locked.hidden_at, locked.hidden_reason
    return True


async def hide_response(moderator: Account, response: Response, reason: str) -> bool:
    """Hide a response (ours or another server's) on the post page; a local one's Note is
    deleted for others and its author told why. False: already hidden."""
    _check_moderator(moderator)
    why = check_reason(reason)
    async with db.atomic():
        locked = await Response.select_for_update().get(id=response.id)
        if locked.hidden_at is not None:
            return False
        if locked.author_id == moderator.id:
            raise PermissionDenied("nobody sanctions themselves")
        locked.hidden_at = utcnow()
        await locked.save(update_fields=["hidden_at", "updated_at"])
        post = await HelpPost.get(id=locked.post_id)
        await audit.record(
            moderator,
            "moderation.response_hidden",
            f"response:{locked.id}",
            post=post,
            reason=why,
        )
        if locked.author_id is not None:
            await events.emit(events.ResponseHidden(response_id=str(locked.id)))
            author = await Account.get(id=locked.author_id)
            await _note(author, "response_hidden", why, post=post)
    response.hidden_at = locked.hidden_at
    return True


async def _note(account: Account, what: str, why: str, *, post: HelpPost | None = None) -> None:
    """Tell `account` what happened and why (see NOTES), linking the post if any."""
    locale = next((lang for lang in account.languages if lang in LANGUAGE_NAMES), "en")
    values = {"reason": why, "title": post.title if post is not None else ""}
    await Notification.create(
        recipient_id=account.id,
        kind=NotificationKind.MODERATION,
        post=post,
        note=gettext(locale, NOTES[what]) % values,
    )


# ---- local accounts ------------------------------------------------------------------


async def _sanction(
    moderator: Account, account: Account, reason: str, *, admin_only: bool = False
) -> tuple[str, Account]:
    """Checks shared by the account actions; the account's row, locked."""
    (_check_admin if admin_only else _check_moderator)(moderator)
    _check_target(moderator, account)
    why = check_reason(reason)
    locked = await Account.select_for_update().get(id=account.id)
    return why, locked


def _subject(account: Account) -> str:
    return f"account:{account.username}"


async def warn_account(moderator: Account, account: Account, reason: str) -> bool:
    """A warning: the account is told why; nothing else changes. Always recorded."""
    async with db.atomic():
        why, locked = await _sanction(moderator, account, reason)
        await audit.record(moderator, "moderation.warned", _subject(locked), reason=why)
        await _note(locked, "warned", why)
    return True


async def silence_account(moderator: Account, account: Account, reason: str) -> bool:
    """Its posts stay at their URL but leave this node's listings and feeds, and reach
    only its followers. False: already silenced."""
    async with db.atomic():
        why, locked = await _sanction(moderator, account, reason)
        if locked.silenced_at is not None:
            return False
        locked.silenced_at = utcnow()
        await locked.save(update_fields=["silenced_at"])
        await audit.record(moderator, "moderation.silenced", _subject(locked), reason=why)
        await _note(locked, "silenced", why)
    account.silenced_at = locked.silenced_at
    return True


async def lift_silence(moderator: Account, account: Account, reason: str) -> bool:
    """Back in the listings. False: it was not silenced."""
    async with db.atomic():
        why, locked = await _sanction(moderator, account, reason)
        if locked.silenced_at is None:
            return False
        locked.silenced_at = None
        await locked.save(update_fields=["silenced_at"])
        await audit.record(moderator, "moderation.unsilenced", _subject(locked), reason=why)
        await _note(locked, "unsilenced", why)
    account.silenced_at = None
    return True


async def suspend_account(moderator: Account, account: Account, reason: str) -> bool:
    """Log-in refused and every session ended, its posts and responses hidden from all
    but moderators, its profile and actor answer 410, what it still had to send is
    cancelled. Nothing is deleted: an admin may lift it. False: already suspended."""
    async with db.atomic():
        why, locked = await _sanction(moderator, account, reason)
        if locked.suspended_at is not None:
            return False
        # `is_active` is what every permission check already reads: a suspended account
        # can do nothing, wherever it is checked.
        locked.suspended_at, locked.is_active = utcnow(), False
        locked.suspension_federated_at = None  # a new suspension counts its own 30 days
        await locked.save(update_fields=["suspended_at", "is_active", "suspension_federated_at"])
        await Session.filter(account_id=locked.id).delete()
        sent = await OutboxActivity.filter(actor_kind="account", actor_key=locked.id).values_list(
            "id", flat=True
        )
        cancelled = 0
        if sent:
            cancelled = await Delivery.filter(
                activity_id__in=list(sent), status=DeliveryStatus.PENDING
            ).update(status=DeliveryStatus.CANCELLED)
        await audit.record(
            moderator,
            "moderation.suspended",
            _subject(locked),
            reason=why,
            detail={"deliveries_cancelled": cancelled},
        )
        await _note(locked, "suspended", why)
    account.suspended_at, account.is_active = locked.suspended_at, False
    account.suspension_federated_at = None
    return True


async def lift_suspension(admin: Account, account: Account, reason: str) -> bool:
    """Undo a suspension (admins): the account logs in again and its content comes back.
    After the suspension was federated, other servers have deleted the actor already;
    it is restored here only. False: it was not suspended."""
    async with db.atomic():
        why, locked = await _sanction(admin, account, reason, admin_only=True)
        if locked.suspended_at is None:
            return False
        locked.suspended_at, locked.is_active = None, True
        await locked.save(update_fields=["suspended_at", "is_active"])
        await audit.record(
            admin,
            "moderation.unsuspended",
            _subject(locked),
            reason=why,
            detail={"already_federated": locked.suspension_federated_at is not None},
        )
        await _note(locked, "unsuspended", why)
    account.suspended_at, account.is_active = None, True
    return True


async def federate_old_suspensions(now: datetime | None = None, batch: int = 100) -> int:
    """The scheduler's job: suspensions older than FEDERATE_AFTER are announced to other
    servers once (AccountSuspensionFederated). Returns how many."""
    now = now or utcnow()
    done = 0
    while True:
        async with db.atomic():
            due = (
                await Account.filter(
                    suspended_at__lte=now - FEDERATE_AFTER, suspension_federated_at=None
                )
                .select_for_update(skip_locked=True)
                .limit(batch)
            )
            for account in due:
                account.suspension_federated_at = now
                await account.save(update_fields=["suspension_federated_at"])
                await events.emit(events.AccountSuspensionFederated(account_id=account.id))
                await audit.record(None, "moderation.suspension_federated", _subject(account))
        done += len(due)
        if len(due) < batch:
            return done


# ---- remote accounts -----------------------------------------------------------------


async def set_remote_standing(
    moderator: Account, remote_actor: RemoteActor, standing: RemoteStanding | str, reason: str
) -> bool:
    """Limit (out of listings and response lists here) or suspend (hidden everywhere, its
    activities dropped) an account of another server, or set it back. False: unchanged."""
    _check_moderator(moderator)
    try:
        new = RemoteStanding(standing)
    except ValueError:
        raise InvalidInput("standing", N_("choose one of the options")) from None
    why = check_reason(reason)
    async with db.atomic():
        locked = await RemoteActor.select_for_update().get(id=remote_actor.id)
        old = locked.standing or RemoteStanding.NORMAL
        if old == new:
            return False
        locked.standing = new.value
        await locked.save(update_fields=["standing"])
        handle = f"@{locked.username}@{locked.domain}" if locked.username else locked.uri
        await audit.record(
            moderator,
            "moderation.remote_standing",
            f"remote:{handle}"[:200],
            reason=why,
            detail={"uri": locked.uri, "old": str(old), "new": new.value},
        )
    remote_actor.standing = new.value
    return True
