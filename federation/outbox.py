"""Outgoing activities: stored once with a stable id, one delivery row per inbox.

Activities are built by `federation.activities`; callers choose the recipients. This
module only enqueues (skipping hosts known to be down), cancels what a deletion makes
pointless, and tells which inboxes were already sent something. Deliveries are sent by
`federation.delivery`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from federation.context import Federation
from federation.vocab import PUBLIC
from node import queue_signals, uris
from node.models import Delivery, DeliveryStatus, OutboxActivity, RemoteActor
from node.services import domain_policy, hosts, local_actors
from node.services.follows import Target
from node.timeutil import utcnow


def new_activity_id(fed: Federation) -> tuple[uuid.UUID, str]:
    key = uuid.uuid4()
    return key, uris.absolute(fed.settings, uris.activity(key))


async def enqueue(
    fed: Federation,
    actor: Target,
    activity: dict[str, Any],
    inboxes: Iterable[str],
    *,
    object_uri: str | None = None,
) -> OutboxActivity:
    """Store `activity` and one pending delivery per distinct inbox, in one transaction."""
    kind, key = local_actors.ref(actor)
    targets = sorted(set(inboxes))
    by_host = {inbox: urlsplit(inbox).netloc.lower() for inbox in targets}
    # Unavailable servers, and those the domain policy refuses (suspended, not on the
    # allowlist, federation off), get nothing; an activity is still stored (outbox).
    skipped = await hosts.unavailable_among(by_host.values())
    skipped |= await domain_policy.refused_among(fed.settings, by_host.values())
    targets = [inbox for inbox in targets if by_host[inbox] not in skipped]
    now = utcnow()
    async with in_transaction():
        stored = await OutboxActivity.create(
            id=uuid.UUID(activity["id"].rsplit("/", 1)[1]),
            activity_uri=activity["id"],
            activity_type=activity["type"],
            actor_kind=kind,
            actor_key=key,
            payload=activity,
            public=PUBLIC in activity.get("to", []) + activity.get("cc", []),
            object_uri=object_uri,
        )
        await Delivery.bulk_create(
            [
                Delivery(
                    activity=stored,
                    inbox=inbox,
                    host=urlsplit(inbox).netloc.lower(),
                    next_attempt_at=now,
                )
                for inbox in targets
            ]
        )
        if targets:  # workers in other processes wake at the commit
            await queue_signals.notify(queue_signals.DELIVERIES)
    fed.deliveries_waiting.set()
    return stored


async def cancel_pending(object_uri: str) -> int:
    """Cancel deliveries not yet sent of activities about `object_uri` (it was deleted)."""
    activity_ids = await OutboxActivity.filter(object_uri=object_uri).values_list("id", flat=True)
    if not activity_ids:
        return 0
    return await Delivery.filter(
        activity_id__in=list(activity_ids), status=DeliveryStatus.PENDING
    ).update(status=DeliveryStatus.CANCELLED)


async def unlist(object_uri: str) -> int:
    """Take what announced or described a deleted object out of the actors' outboxes
    (its Delete stays): a hidden post's text must not stay readable there."""
    return await OutboxActivity.filter(
        object_uri=object_uri, activity_type__in=["Create", "Update", "Announce"]
    ).update(public=False)


async def cancel_pending_of_actor(actor: Target) -> int:
    """Cancel everything one of our actors still has waiting (it was suspended)."""
    kind, key = local_actors.ref(actor)
    activity_ids = await OutboxActivity.filter(actor_kind=kind, actor_key=key).values_list(
        "id", flat=True
    )
    if not activity_ids:
        return 0
    return await Delivery.filter(
        activity_id__in=list(activity_ids), status=DeliveryStatus.PENDING
    ).update(status=DeliveryStatus.CANCELLED)


# Deliveries that reached, or may still reach, their inbox.
_REACHING = (DeliveryStatus.SENT, DeliveryStatus.PENDING)


async def inboxes_sent(*, object_uri: str | None = None, actor: Target | None = None) -> set[str]:
    """The inboxes that were sent (or are about to be sent) activities about
    `object_uri`, or activities of the local `actor`: who holds a copy of it."""
    query = OutboxActivity.all()
    if object_uri is not None:
        query = query.filter(object_uri=object_uri)
    if actor is not None:
        kind, key = local_actors.ref(actor)
        query = query.filter(actor_kind=kind, actor_key=key)
    activity_ids = await query.values_list("id", flat=True)
    if not activity_ids:
        return set()
    rows = await Delivery.filter(
        activity_id__in=list(activity_ids), status__in=_REACHING
    ).values_list("inbox", flat=True)
    return set(rows)


async def with_earlier(current: set[str], earlier: set[str]) -> set[str]:
    """`current` inboxes plus those `earlier` ones on servers `current` does not reach,
    one per server where we know its shared inbox (a server gets a Delete once, not at
    each person's inbox it was once sent an Accept or a message)."""
    reached = {urlsplit(i).netloc.lower() for i in current}
    by_host: dict[str, set[str]] = {}
    for inbox in earlier:
        host = urlsplit(inbox).netloc.lower()
        if host not in reached:
            by_host.setdefault(host, set()).add(inbox)
    candidates = [i for found in by_host.values() for i in found]
    shared = (
        set(
            await RemoteActor.filter(shared_inbox__in=candidates).values_list(
                "shared_inbox", flat=True
            )
        )
        if candidates
        else set()
    )
    found = set(current)
    for inboxes in by_host.values():
        found |= (inboxes & shared) or inboxes
    return found


async def stored_activity(activity_uri: str) -> dict[str, Any] | None:
    """An activity we sent, as it was sent (an Undo embeds the Follow it undoes)."""
    row = await OutboxActivity.get_or_none(activity_uri=activity_uri)
    return row.payload if row is not None else None
