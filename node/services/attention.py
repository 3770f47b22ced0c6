"""What needs an organisation's attention today, and renewing posts that are running out.

Each list is one small query served by the index on (organisation, status, created),
at most 20 rows: a dashboard must stay fast with thousands of requests behind it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from node import db, events
from node.models import Account, HelpPost, Organisation, Response
from node.services import audit
from node.services.dashboards import (
    OpenOffers,
    in_language,
    open_offers,
    require_dashboard,
    scope_of,
)
from node.states import POST_ACTIONS, OfferStatus, PostAction, PostStatus
from node.timeutil import utcnow

WAITING_TOO_LONG = timedelta(days=2)
NO_OFFER_AFTER = timedelta(days=3)
SOON = timedelta(hours=48)
EXPIRING = timedelta(days=7)
RENEW_BY = timedelta(days=30)
MAX_RENEW_AHEAD = timedelta(days=366)
LIMIT = 20
KINDS = ("waiting", "no_offer", "soon", "past", "expiring")
FIELDS = (
    "id",
    "title",
    "status",
    "starts_at",
    "expires_at",
    "created_at",
    "language",
    "translations",
)


async def attention(
    org: Organisation,
    now: datetime | None = None,
    locale: str = "en",
    offers: OpenOffers | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Posts to look at, newest first, by kind:

    - waiting: an offer has waited more than two days for an answer;
    - no_offer: open for three days without any offer;
    - soon: its date is within 48 hours and it still needs helpers;
    - past: its date has passed and it is not marked done (open or matched);
    - expiring: open, and it expires within a week (renew it).
    """
    now = now or utcnow()
    offers = offers or await open_offers(org)
    scope = await scope_of(org)
    still_open = scope & Q(status=PostStatus.OPEN)
    long_waiting = await Response.filter(
        post_id__in=list(offers.offered) or [None],
        offer_status=OfferStatus.OFFERED,
        created_at__lt=now - WAITING_TOO_LONG,
    ).values_list("post_id", flat=True)
    conditions = {
        "waiting": Q(id__in=list(set(long_waiting)) or [None]),
        "no_offer": still_open
        & Q(created_at__lt=now - NO_OFFER_AFTER)
        & ~Q(id__in=list(offers.answered) or [None]),
        "soon": still_open & Q(starts_at__gte=now, starts_at__lt=now + SOON),
        "past": scope & Q(status__in=(PostStatus.OPEN, PostStatus.MATCHED), starts_at__lt=now),
        "expiring": still_open & Q(expires_at__gte=now, expires_at__lt=now + EXPIRING),
    }
    found = {}
    for kind, condition in conditions.items():
        rows = await HelpPost.filter(condition).order_by("-created_at").limit(LIMIT).values(*FIELDS)
        for row in rows:
            in_language(row, locale)
        found[kind] = rows
    return found


async def renew(
    org: Organisation, post_ids: list[str], *, by: Account, now: datetime | None = None
) -> int:
    """Push the expiry of open and matched posts of `org` 30 days further; how many."""
    await require_dashboard(by, org)
    now = now or utcnow()
    renewed = 0
    wanted = []
    for raw in post_ids[:200]:  # ids from a form: only well-formed ones are looked up
        try:
            wanted.append(uuid.UUID(raw))
        except ValueError:
            continue
    async with db.atomic():
        posts = await HelpPost.filter(
            id__in=wanted or [None],
            organisation_id=org.id,
            status__in=list(POST_ACTIONS[PostAction.RENEW]),
        ).select_for_update()
        for post in posts:
            new_expiry = min(max(post.expires_at, now) + RENEW_BY, now + MAX_RENEW_AHEAD)
            if new_expiry <= post.expires_at:
                continue
            post.expires_at = new_expiry
            await post.save(update_fields=["expires_at", "updated_at"])
            await audit.record(
                by, "post.renewed", post=post, detail={"expires_at": new_expiry.isoformat()}
            )
            # The Note's endTime is the expiry of a post without a date.
            await events.emit(events.PostEdited(post_id=str(post.id)))
            renewed += 1
    return renewed
