"""Notifications by e-mail, one message each, soon after they happen (`mail_frequency`
immediate). The daily digest (`node.services.mail_digest`) mails the same kinds.

Every 30 seconds the job takes the notifications not yet decided on (`emailed_at` null)
and, in one transaction each, sets `emailed_at` and queues the e-mail, so a notification
is mailed at most once even with several worker processes (the conditional update is
the claim). What is mailed:

- an offer of help on my request (a RESPONSE whose response is an offer), my offer
  accepted, declined, or no longer needed, a message in a request's private
  conversation (its text: the reader takes part in it), thanks for my help;
- to an active account with a confirmed address that chose "immediate";
- not read in the web meanwhile, not older than `STALE_AFTER` (a node that has just
  turned e-mail on does not send the past), about a post the reader may still see and
  that no moderator hid.

Everything else is decided on without mail (`emailed_at` set all the same, so the rows
are not looked at again and nobody receives old news after changing a setting):
comments, follows, reports and moderation notices stay in the web (follows and comments
are too many to mail one by one; reports and moderation have their own pages and
people), as does anything for an address not confirmed or a person who chose "none".
Notifications of people who chose "daily" wait for their digest.

An e-mail names the request by its title and links to it; it never carries a post's
private address. It is written in the reader's first language and carries the
List-Unsubscribe headers (RFC 8058 one-click) and a link to the e-mail settings.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q, Subquery

from node import db, mail_compose, uris
from node.config import Settings
from node.i18n import gettext
from node.models import (
    Account,
    MailFrequency,
    MailKind,
    Notification,
    NotificationKind,
    ResponseKind,
)
from node.scheduler import Job
from node.services import mail_queue, node_profile, unsubscribe
from node.services.email_addresses import language_of  # as their pages and account mail
from node.services.visibility import can_view
from node.text import html_to_text
from node.timeutil import utcnow

INTERVAL_SECONDS = 30
BATCH = 100
MAX_BATCHES = 10  # per run: a backlog is worked off over a few runs
STALE_AFTER = timedelta(days=2)
SETTINGS_PATH = "/settings"
MAILED_KINDS = (
    NotificationKind.RESPONSE,
    NotificationKind.ACCEPTED,
    NotificationKind.DECLINED,
    NotificationKind.NOT_NEEDED,
    NotificationKind.MESSAGE,
    NotificationKind.THANKED,
)
# What `describe` needs of a notification, in one query per batch.
RELATED = (
    "recipient",
    "actor",
    "organisation",
    "post",
    "response",
    "response__remote_author",
    "message",
    "message__remote_author",
)


@dataclass(frozen=True, slots=True)
class Item:
    """One notification as an e-mail tells it."""

    kind: str  # offer, accepted, declined, not_needed, message, thanked
    who: str  # who did it (the organisation when someone acted for one)
    title: str  # the request's title in the reader's language
    url: str  # absolute: the request, or its conversation
    text: str  # the offer's, message's or thanks' words; "" when none
    created_at: datetime


def _remote_name(actor: object | None) -> str:
    if actor is None:
        return ""
    name = getattr(actor, "display_name", "") or ""
    return name or f"@{actor.username}@{actor.domain}"  # type: ignore[attr-defined]


def _who(n: Notification, language: str) -> str:
    # As the notifications page says it: an organisation speaks for its staff, naming
    # the person only when it chose to.
    if n.organisation is not None:
        if n.organisation.show_staff_names and n.actor is not None:
            return gettext(language, "%(person)s for %(organisation)s") % {
                "person": n.actor.display_name,
                "organisation": n.organisation.name,
            }
        return n.organisation.name
    if n.actor is not None:
        return n.actor.display_name
    remote = (n.message.remote_author if n.message is not None else None) or (
        n.response.remote_author if n.response is not None else None
    )
    return _remote_name(remote) or gettext(language, "Someone")


async def describe(settings: Settings, n: Notification, language: str) -> Item | None:
    """What an e-mail says of `n` (its relations loaded, see RELATED), or None when
    this notification is not mailed."""
    post = n.post
    if n.kind not in MAILED_KINDS or post is None or post.hidden_at is not None:
        return None
    kind, text = str(n.kind), ""
    url = uris.absolute(settings, uris.post(post.id))
    if n.kind == NotificationKind.RESPONSE:
        response = n.response
        if response is None or response.kind != ResponseKind.OFFER or response.hidden_at:
            return None  # a comment: the web tells it, mail would be too much
        kind, text = "offer", response.body
    elif n.kind == NotificationKind.MESSAGE:
        if n.message is None:
            return None
        text = n.message.body or html_to_text(n.message.body_html or "")
        url = uris.absolute(settings, uris.conversation(post.id))
    elif n.kind == NotificationKind.THANKED and n.response is not None:
        text = "" if n.response.hidden_at else n.response.body
    if not await can_view(n.recipient, post):
        return None  # no longer theirs to see (a follower removed since, say)
    return Item(kind, _who(n, language), post.text_in(language)[0], url, text, n.created_at)


def may_receive(account: Account) -> bool:
    """Whether anything may be mailed to `account` unasked."""
    return bool(
        account.email
        and account.email_confirmed_at is not None
        and account.is_active
        and account.suspended_at is None
    )


async def footer_context(settings: Settings, account: Account) -> dict[str, str]:
    """What every notification e-mail's footer links to."""
    return {
        "settings_url": uris.absolute(settings, SETTINGS_PATH),
        "unsubscribe_url": await unsubscribe.link(settings, account),
    }


async def _message_for(
    settings: Settings, n: Notification, now: datetime, node_name: str
) -> tuple[mail_compose.Composed, str, dict[str, str]] | None:
    """The e-mail for `n` (subject/text/html, language, headers), or None: not mailed."""
    account = n.recipient
    if account.mail_frequency != MailFrequency.IMMEDIATE or not may_receive(account):
        return None
    if n.read_at is not None or n.created_at < now - STALE_AFTER:
        return None
    language = language_of(settings, account)
    item = await describe(settings, n, language)
    if item is None:
        return None
    composed = mail_compose.compose(
        settings,
        "notification",
        language,
        node_name=node_name,
        item=item,
        recipient_name=account.display_name,
        **await footer_context(settings, account),
    )
    return composed, language, await unsubscribe.headers(settings, account)


def _waiting_for_digest() -> Subquery:
    """Accounts whose notifications the daily digest takes (not decided on here)."""
    return Subquery(
        Account.filter(
            mail_frequency=MailFrequency.DAILY,
            email_confirmed_at__isnull=False,
            is_active=True,
            suspended_at=None,
        ).values("id")
    )


async def send_due(settings: Settings, *, now: datetime | None = None) -> int:
    """Decide on the notifications not yet decided on; returns how many were mailed.
    Does nothing (and stores nothing) when this node sends no e-mail."""
    if not settings.mail_enabled:
        return 0
    now = now or utcnow()
    node_name = (await node_profile.load(settings)).name
    mailed = 0
    for _ in range(MAX_BATCHES):
        rows = (
            await Notification.filter(
                Q(kind__not_in=MAILED_KINDS) | Q(recipient_id__not_in=_waiting_for_digest()),
                emailed_at=None,
            )
            .order_by("id")
            .limit(BATCH)
            .prefetch_related(*RELATED)
        )
        for n in rows:
            message = await _message_for(settings, n, now, node_name)
            async with db.atomic():
                # The claim: a second worker's update finds emailed_at set, and stops.
                claimed = await Notification.filter(id=n.id, emailed_at=None).update(emailed_at=now)
                if claimed and message is not None:
                    composed, language, headers = message
                    await mail_queue.enqueue(
                        settings,
                        to=n.recipient.email or "",
                        kind=MailKind.NOTIFY,
                        language=language,
                        subject=composed.subject,
                        text=composed.text,
                        html=composed.html,
                        account=n.recipient,
                        headers=headers,
                    )
                    mailed += 1
        if len(rows) < BATCH:
            break
    return mailed


def job(settings: Settings) -> Job:
    """The scheduler's job (every 30 seconds); it logs how many e-mails it queued."""
    return Job("mail-notifications", INTERVAL_SECONDS, functools.partial(send_due, settings))
