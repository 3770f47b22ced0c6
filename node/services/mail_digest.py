"""The daily digest: one e-mail a day at most, and none when there is nothing to say.

It goes to active accounts with a confirmed address that chose "daily" for their
notifications, or asked for new requests (`mail_new_requests`), or both. It holds:

- with "daily": their notifications of the kinds mailed one by one to others
  (`mail_notifications.MAILED_KINDS`, worded the same way), not yet mailed and not read
  in the web since; each one taken is marked `emailed_at`, so none is mailed twice;
- with new requests: the open requests published since the last digest in the
  neighbourhoods they follow (an accepted follow) or live in, that they may see
  (`visibility`), listed (not hidden, author not suspended or silenced), not their own.

`mail_digest_at` is set each time an account's digest falls due, sent or not, to a day
after the one before (`made_at`: the job's lateness does not add up), so the digest
keeps to the same time of day and covers what came after the one before. The
claim on it is a conditional update, so two workers never both send one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q

from node import db, mail_compose, uris
from node.config import Settings
from node.models import (
    Account,
    Follow,
    HelpPost,
    MailFrequency,
    MailKind,
    Notification,
    PostKind,
)
from node.scheduler import Job
from node.services import mail_queue, node_profile, unsubscribe
from node.services.email_addresses import language_of
from node.services.mail_notifications import (
    MAILED_KINDS,
    RELATED,
    Item,
    describe,
    footer_context,
    may_receive,
)
from node.services.removals import listed_filter
from node.services.visibility import visible_posts_filter
from node.states import FollowStatus, PostStatus
from node.timeutil import as_utc, utcnow

INTERVAL_SECONDS = 600
PERIOD = timedelta(hours=24)
BATCH = 200  # accounts per run; the rest are due at the next run
MAX_NOTIFICATIONS = 100  # per digest: more waits for the next one
MAX_REQUESTS = 20  # new requests listed; the e-mail says how many more there are
OLDEST = timedelta(days=7)  # nothing older goes in a digest (a setting just turned on)


@dataclass(frozen=True, slots=True)
class NewRequest:
    title: str
    neighbourhood: str
    url: str


def _due(now: datetime) -> Q:
    return Q(mail_digest_at=None) | Q(mail_digest_at__lte=now - PERIOD)


def made_at(previous: datetime | None, now: datetime) -> datetime:
    """When a digest made `now` counts as made: a day after the one before when the job
    is only a run or two late (it runs every INTERVAL_SECONDS), so the time of day does
    not creep later every day; `now` for the first one, or after a pause (the node off)."""
    if previous is not None:
        slot = as_utc(previous) + PERIOD
        if slot <= now < slot + 3 * timedelta(seconds=INTERVAL_SECONDS):
            return slot
    return now


async def _followed_neighbourhoods(account: Account) -> list[int]:
    hoods = await Follow.filter(
        follower_id=account.id, status=FollowStatus.ACCEPTED, neighbourhood_id__isnull=False
    ).values_list("neighbourhood_id", flat=True)
    home = account.home_neighbourhood_id  # type: ignore[attr-defined]
    return [*hoods, *([home] if home is not None else [])]


async def new_requests(
    settings: Settings, account: Account, since: datetime, now: datetime, language: str
) -> tuple[list[NewRequest], int]:
    """The requests to list (at most MAX_REQUESTS, oldest first) and how many in all."""
    hoods = await _followed_neighbourhoods(account)
    if not hoods:
        return [], 0
    query = HelpPost.filter(
        await visible_posts_filter(account),
        listed_filter(),
        kind=PostKind.REQUEST,
        status=PostStatus.OPEN,
        neighbourhood_id__in=hoods,
        created_at__gt=since,
        created_at__lte=now,
    ).exclude(author_id=account.id)
    total = await query.count()
    posts = await query.order_by("created_at").limit(MAX_REQUESTS).select_related("neighbourhood")
    listed = [
        NewRequest(
            post.text_in(language)[0],
            post.neighbourhood.name,
            uris.absolute(settings, uris.post(post.id)),
        )
        for post in posts
    ]
    return listed, total


async def _take_notifications(
    settings: Settings, account: Account, now: datetime, language: str
) -> list[Item]:
    """Mark the account's waiting notifications as mailed; those worth telling, worded."""
    rows = (
        await Notification.filter(recipient_id=account.id, emailed_at=None)
        .order_by("id")
        .limit(MAX_NOTIFICATIONS)
        .prefetch_related(*RELATED)
    )
    items = []
    for n in rows:
        if not await Notification.filter(id=n.id, emailed_at=None).update(emailed_at=now):
            continue  # taken meanwhile (the person switched to "immediate", say)
        if n.kind in MAILED_KINDS and n.read_at is None and n.created_at >= now - OLDEST:
            item = await describe(settings, n, language)
            if item is not None:
                items.append(item)
    return items


async def _digest_for(settings: Settings, account: Account, now: datetime, node_name: str) -> int:
    language = language_of(settings, account)
    since = max(account.mail_digest_at or now - PERIOD, now - OLDEST)
    # Requests up to `made` are listed now; those after it in the next digest.
    made = made_at(account.mail_digest_at, now)
    async with db.atomic():
        if not await Account.filter(_due(now), id=account.id).update(mail_digest_at=made):
            return 0  # another worker has it
        items: list[Item] = []
        if account.mail_frequency == MailFrequency.DAILY:
            items = await _take_notifications(settings, account, now, language)
        requests: list[NewRequest] = []
        total = 0
        if account.mail_new_requests:
            requests, total = await new_requests(settings, account, since, made, language)
        if not items and not requests:
            return 0
        composed = mail_compose.compose(
            settings,
            "digest",
            language,
            node_name=node_name,
            recipient_name=account.display_name,
            items=items,
            requests=requests,
            more_requests=total - len(requests),
            daily=account.mail_frequency == MailFrequency.DAILY,
            new_requests=account.mail_new_requests,
            **await footer_context(settings, account),
        )
        await mail_queue.enqueue(
            settings,
            to=account.email or "",
            kind=MailKind.DIGEST,
            language=language,
            subject=composed.subject,
            text=composed.text,
            html=composed.html,
            account=account,
            headers=await unsubscribe.headers(settings, account),
        )
    return 1


async def send_digests(settings: Settings, *, now: datetime | None = None) -> int:
    """Queue the digests that are due; returns how many. Does nothing (and stores
    nothing) when this node sends no e-mail."""
    if not settings.mail_enabled:
        return 0
    now = now or utcnow()
    accounts = (
        await Account.filter(
            Q(mail_frequency=MailFrequency.DAILY) | Q(mail_new_requests=True),
            _due(now),
            email_confirmed_at__isnull=False,
            is_active=True,
            suspended_at=None,
        )
        .order_by("id")
        .limit(BATCH)
    )
    node_name = (await node_profile.load(settings)).name if accounts else settings.name
    sent = 0
    for account in accounts:
        if may_receive(account):
            sent += await _digest_for(settings, account, now, node_name)
    return sent


def job(settings: Settings) -> Job:
    """The scheduler's job (every 10 minutes); it logs how many digests it queued."""
    return Job("mail-digests", INTERVAL_SECONDS, functools.partial(send_digests, settings))
