"""Turning domain events into federation: the node says what happened, we tell others.

Services store events in the same transaction as their change (`node.events`); this
consumer claims unhandled ones with a lease and acts on those that concern other
servers. An event whose remote side is temporarily unreachable is tried again later.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from federation import actor_updates, conversations, outbox, publishing
from federation.actors import ActorUnavailable, actor_by_uri
from federation.context import Federation
from federation.retry import backoff
from federation.vocab import PUBLIC
from node.errors import Conflict, NotFound
from node.models import (
    Event,
    Follow,
)
from node.services import local_actors, remote_follows
from node.services.follows import THIS_NODE
from node.states import FollowStatus
from node.timeutil import utcnow

log = logging.getLogger("nabuur.events")

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8


class TryLater(Exception):
    """A remote side is unreachable for now; the event stays unhandled."""


async def _remote(fed: Federation, uri: str):
    try:
        return await actor_by_uri(fed, uri)
    except ActorUnavailable as exc:
        if exc.temporary:
            raise TryLater(exc.reason) from exc
        raise NotFound(f"{uri}: {exc.reason}") from exc


async def on_follow_requested(fed: Federation, payload: dict) -> str:
    local = await local_actors.load(payload["local_kind"], payload["local_key"])
    target = await _remote(fed, payload["target_uri"])
    # One transaction: the Accept may come back before this function returns, and it must
    # find the follow it answers. Following twice is a Conflict: nothing is sent.
    async with in_transaction():
        activity = outbox.follow_activity(fed, local, target, relay=payload.get("is_relay", False))
        await remote_follows.start_outgoing_follow(
            local,
            target,
            activity["id"],
            is_relay=payload.get("is_relay", False),
        )
        await outbox.enqueue(fed, local, activity, [target.inbox])
    return f"Follow sent to {target.uri}"


async def on_unfollow_requested(fed: Federation, payload: dict) -> str:
    local = await local_actors.load(payload["local_kind"], payload["local_key"])
    target = await _remote(fed, payload["target_uri"])
    row = await remote_follows.stop_outgoing_follow(local, target)
    follow = {
        "id": row.activity_uri,
        "type": "Follow",
        "actor": fed.settings.public_url + local_actors.path(local),
        "object": PUBLIC if row.is_relay else target.uri,
    }
    await outbox.send_undo(fed, local, target, follow)
    return f"Undo(Follow) sent to {target.uri}"


async def on_follow_changed(fed: Federation, payload: dict) -> str | None:
    if not payload.get("decided_locally"):
        return None
    row = await Follow.get_or_none(id=payload["follow_id"]).prefetch_related(
        "follower_remote", "account"
    )
    if row is None or row.follower_remote is None or row.activity_uri is None:
        return "no remote follower to answer"
    target = row.account or THIS_NODE
    follow = {"id": row.activity_uri}
    accepted = payload["status"] == FollowStatus.ACCEPTED
    await outbox.answer_follow(fed, target, row.follower_remote, follow, accepted)
    return "Accept sent" if accepted else "Reject sent"


# Each returns a note for the log, or None when the event needed nothing from us.
CONSUMERS: dict[str, Callable[[Federation, dict], Awaitable[str | None]]] = {
    "RemoteFollowRequested": on_follow_requested,
    "RemoteUnfollowRequested": on_unfollow_requested,
    "FollowChanged": on_follow_changed,
    "PostPublished": publishing.on_post_published,
    "PostEdited": publishing.on_post_edited,
    "PostStatusChanged": publishing.on_post_status_changed,
    "OfferStatusChanged": conversations.on_offer_status_changed,
    "ActorChanged": actor_updates.on_actor_changed,
    "PartnerRemoved": publishing.on_partner_removed,
}


async def _claim(limit: int) -> list[Event]:
    now = utcnow()
    async with in_transaction():
        rows = (
            await Event.filter(Q(locked_until=None) | Q(locked_until__lt=now), handled_at=None)
            .order_by("id")
            .limit(limit)
            .select_for_update(skip_locked=True)
        )
        if rows:
            await Event.filter(id__in=[r.id for r in rows]).update(locked_until=now + LEASE)
    return rows


async def _consume(fed: Federation, event: Event) -> None:
    consumer = CONSUMERS.get(event.kind)
    event.attempts += 1
    try:
        note = await consumer(fed, event.payload) if consumer else None
    except TryLater as exc:
        if event.attempts < MAX_ATTEMPTS:
            event.locked_until = utcnow() + backoff(event.attempts)
            await event.save(update_fields=["attempts", "locked_until"])
            log.info("event %s %d: try later (%s)", event.kind, event.id, exc)
            return
        note = f"gave up: {exc}"
    except (NotFound, Conflict) as exc:
        note = f"dropped: {exc}"
    event.handled_at = utcnow()
    event.locked_until = None
    await event.save(update_fields=["attempts", "locked_until", "handled_at"])
    if note is not None:
        log.info("event %s %d: %s", event.kind, event.id, note)


async def consume_events_once(fed: Federation, limit: int = 100) -> int:
    """Claim and act on one batch of events; returns how many were claimed."""
    rows = await _claim(limit)
    for event in rows:
        try:
            await _consume(fed, event)
        except Exception:  # a bug must not stop the queue: the lease brings it back
            log.exception("event %s %d failed", event.kind, event.id)
    return len(rows)
