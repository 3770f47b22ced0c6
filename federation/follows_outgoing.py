"""Follows we send and answer: Follow and Undo(Follow) of remote actors by our actors,
Accept or Reject of remote actors' Follows (at once, or when a person here decides).

Called by the event consumer (`RemoteFollowRequested`, `RemoteUnfollowRequested`,
`FollowChanged`) and by the Follow handler.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from federation import activities, outbox
from federation.actors import ActorUnavailable, actor_by_uri
from federation.context import Federation
from node import uris
from node.errors import NotFound
from node.models import Follow, OutboxActivity, RemoteActor
from node.services import local_actors, remote_follows
from node.services.follows import Target
from node.states import FollowStatus


class TryLater(Exception):
    """A remote side is unreachable for now; the event stays unhandled."""


async def remote_actor(fed: Federation, uri: str) -> RemoteActor:
    """The remote actor at `uri`; TryLater when its server is down for now."""
    try:
        return await actor_by_uri(fed, uri)
    except ActorUnavailable as exc:
        if exc.temporary:
            raise TryLater(exc.reason) from exc
        raise NotFound(f"{uri}: {exc.reason}") from exc


def _actor_id(fed: Federation, local: Target) -> str:
    return uris.absolute(fed.settings, local_actors.path(local))


async def answer_follow(
    fed: Federation, target: Target, follower: RemoteActor, follow_id: str, accepted: bool
) -> OutboxActivity:
    """Accept or Reject the remote Follow `follow_id` of our actor `target`."""
    _, activity_id = outbox.new_activity_id(fed)
    activity = activities.answer_follow(
        activity_id, _actor_id(fed, target), follow_id, follower.uri, accepted=accepted
    )
    return await outbox.enqueue(fed, target, activity, [follower.inbox])


async def on_follow_requested(fed: Federation, payload: dict) -> str:
    local = await local_actors.load(payload["local_kind"], payload["local_key"])
    target = await remote_actor(fed, payload["target_uri"])
    relay = payload.get("is_relay", False)
    # One transaction: the Accept may come back before this function returns, and it must
    # find the follow it answers. Following twice is a Conflict: nothing is sent.
    async with in_transaction():
        _, activity_id = outbox.new_activity_id(fed)
        activity = activities.follow(activity_id, _actor_id(fed, local), target.uri, relay=relay)
        await remote_follows.start_outgoing_follow(local, target, activity_id, is_relay=relay)
        await outbox.enqueue(fed, local, activity, [target.inbox])
    return f"Follow sent to {target.uri}"


async def on_unfollow_requested(fed: Federation, payload: dict) -> str:
    local = await local_actors.load(payload["local_kind"], payload["local_key"])
    target = await remote_actor(fed, payload["target_uri"])
    row = await remote_follows.stop_outgoing_follow(local, target)
    # The Undo embeds the Follow exactly as it was sent (Mastodon matches it by id; others
    # compare actor and object).
    sent: dict[str, Any] | None = await outbox.stored_activity(row.activity_uri)
    if sent is None:  # a follow recorded before its activity was kept
        sent = activities.follow(
            row.activity_uri, _actor_id(fed, local), target.uri, relay=row.is_relay
        )
    _, activity_id = outbox.new_activity_id(fed)
    undo = activities.undo(activity_id, _actor_id(fed, local), sent, target.uri)
    await outbox.enqueue(fed, local, undo, [target.inbox])
    return f"Undo(Follow) sent to {target.uri}"


async def on_follow_changed(fed: Federation, payload: dict) -> str | None:
    if not payload.get("decided_locally"):
        return None
    row = await Follow.get_or_none(id=payload["follow_id"]).prefetch_related("follower_remote")
    if row is None or row.follower_remote is None or row.activity_uri is None:
        return "no remote follower to answer"
    target = await _follow_target(row)
    accepted = payload["status"] == FollowStatus.ACCEPTED
    await answer_follow(fed, target, row.follower_remote, row.activity_uri, accepted)
    return "Accept sent" if accepted else "Reject sent"


async def _follow_target(row: Follow) -> Target:
    """The local actor a follow is of (neighbourhoods may approve followers too)."""
    key = row.account_id or row.neighbourhood_id or row.organisation_id  # type: ignore[attr-defined]
    return await local_actors.load(row.target_kind, key)
