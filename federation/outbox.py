"""Outgoing activities: built once with a stable id, one delivery row per inbox.

Deliveries are sent by `federation.delivery`; this module only decides what goes where.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from federation.context import Federation
from federation.vocab import AS_CONTEXT, PUBLIC
from node import uris
from node.models import (
    Delivery,
    DeliveryStatus,
    OutboxActivity,
    RemoteActor,
)
from node.services import hosts, local_actors
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
    down = await hosts.unavailable_among(urlsplit(i).netloc.lower() for i in targets)
    targets = [i for i in targets if urlsplit(i).netloc.lower() not in down]
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
    fed.deliveries_waiting.set()
    return stored


async def answer_follow(
    fed: Federation,
    target: Target,
    follower: RemoteActor,
    follow_activity: dict[str, Any],
    accepted: bool,
) -> OutboxActivity:
    """Accept or Reject a remote Follow, addressed to the follower alone."""
    _, activity_id = new_activity_id(fed)
    actor_id = uris.absolute(fed.settings, local_actors.path(target))
    activity = {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Accept" if accepted else "Reject",
        "actor": actor_id,
        "to": [follower.uri],
        # Mastodon matches the answer by the Follow's id; embedding it helps the others.
        "object": {
            "id": follow_activity["id"],
            "type": "Follow",
            "actor": follower.uri,
            "object": actor_id,
        },
    }
    return await enqueue(fed, target, activity, [follower.inbox])


def follow_activity(
    fed: Federation, local: Target, target: RemoteActor, *, relay: bool = False
) -> dict[str, Any]:
    """A Follow from one of our actors to a remote actor (the caller records and sends it).

    Relays are followed the way Mastodon does it: the object is the Public collection,
    which ActivityRelay-style relays expect and LitePub relays accept.
    """
    _, activity_id = new_activity_id(fed)
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Follow",
        "actor": uris.absolute(fed.settings, local_actors.path(local)),
        "object": PUBLIC if relay else target.uri,
        "to": [target.uri],
    }


async def send_undo(
    fed: Federation, local: Target, target: RemoteActor, undone: dict[str, Any]
) -> dict[str, Any]:
    _, activity_id = new_activity_id(fed)
    activity = {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Undo",
        "actor": uris.absolute(fed.settings, local_actors.path(local)),
        "object": {k: v for k, v in undone.items() if k != "@context"},
        "to": [target.uri],
    }
    await enqueue(fed, local, activity, [target.inbox])
    return activity


async def cancel_pending(object_uri: str) -> int:
    """Cancel deliveries not yet sent of activities about `object_uri` (it was deleted)."""
    activity_ids = await OutboxActivity.filter(object_uri=object_uri).values_list("id", flat=True)
    if not activity_ids:
        return 0
    return await Delivery.filter(
        activity_id__in=list(activity_ids), status=DeliveryStatus.PENDING
    ).update(status=DeliveryStatus.CANCELLED)
