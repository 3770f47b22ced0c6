"""Follow, Accept, Reject, and Undo of a Follow."""

from __future__ import annotations

from federation import follows_outgoing
from federation.handlers.local import local_actor
from federation.handlers.registry import Incoming, Outcome, handles
from federation.vocab import id_of
from node.errors import NotFound
from node.models import Follow
from node.services import remote_follows
from node.states import FollowStatus


@handles("Follow")
async def follow(incoming: Incoming) -> Outcome:
    target = await local_actor(incoming.fed, id_of(incoming.object))
    if target is None:
        return Outcome.rejected("Follow of nothing we have")
    row = await remote_follows.follow_from_remote(incoming.actor, target, incoming.activity["id"])
    if row.status == FollowStatus.ACCEPTED:
        await follows_outgoing.answer_follow(
            incoming.fed, target, incoming.actor, incoming.activity["id"], True
        )
        return Outcome.processed("accepted")
    return Outcome.processed("pending approval")


async def _answer(incoming: Incoming, accepted: bool) -> Outcome:
    follow_id = id_of(incoming.object)
    try:
        await remote_follows.answer_outgoing_follow(incoming.actor, follow_id, accepted)
    except NotFound:
        return Outcome.rejected("answers no follow we sent to this actor")
    return Outcome.processed("accepted" if accepted else "rejected")


@handles("Accept", objects="follow")
async def accept(incoming: Incoming) -> Outcome:
    return await _answer(incoming, True)


@handles("Reject", objects="follow")
async def reject(incoming: Incoming) -> Outcome:
    return await _answer(incoming, False)


@handles("Undo", objects="follow")
async def undo(incoming: Incoming) -> Outcome:
    """Undo of a Follow, named by its activity id (object embedded or not); Undo of a
    reaction is handled with the reactions."""
    undone_id = id_of(incoming.object)
    if undone_id is None:
        return Outcome.rejected("Undo of nothing")
    if await Follow.exists(activity_uri=undone_id, follower_remote=incoming.actor):
        await remote_follows.undo_remote_follow(incoming.actor, undone_id, None)
        return Outcome.processed("unfollowed")
    obj = incoming.object
    if isinstance(obj, dict) and obj.get("type") == "Follow":
        # Some servers send a new id for the Follow they undo: fall back to its target.
        target = await local_actor(incoming.fed, id_of(obj.get("object")))
        if target is not None and await remote_follows.undo_remote_follow(
            incoming.actor, None, target
        ):
            return Outcome.processed("unfollowed")
    return Outcome.ignored("nothing of this actor to undo")
