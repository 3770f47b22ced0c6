"""Like and Announce of our posts, counted per actor, and their Undo (the REACTION family)."""

from __future__ import annotations

from federation.handlers import remote_posts
from federation.handlers.local import local_post
from federation.handlers.registry import Family, Incoming, Outcome, handles
from federation.vocab import id_of
from node.models import Reaction, ReactionKind
from node.services import remote_content
from node.services.visibility import remote_may_see


async def _react(incoming: Incoming, kind: ReactionKind) -> Outcome:
    post = await local_post(incoming.fed, id_of(incoming.object))
    if post is None:
        # Announces of remote objects (relays, boosts of others) are read in a later step;
        # we never trust an embedded copy of another server's object.
        return Outcome.ignored("not one of our posts")
    if not await remote_may_see(incoming.actor, post):
        return Outcome.rejected("a post this actor may not see")
    await remote_content.add_reaction(incoming.actor, post, kind, incoming.activity["id"])
    return Outcome.processed(f"{kind} counted")


@handles("Like")
async def like(incoming: Incoming) -> Outcome:
    return await _react(incoming, ReactionKind.LIKE)


@handles("Announce")
async def announce(incoming: Incoming) -> Outcome:
    """A boost of one of our posts, or a followed group sharing a post of its own."""
    if await local_post(incoming.fed, id_of(incoming.object), incoming.cache) is not None:
        return await _react(incoming, ReactionKind.ANNOUNCE)
    return await remote_posts.announced(incoming)


@handles("Undo", objects=Family.REACTION)
async def undo(incoming: Incoming) -> Outcome:
    """Undo of a Like or Announce, named by its activity id (embedded or not)."""
    undone = id_of(incoming.object)
    if undone is None or not await Reaction.exists(activity_uri=undone, actor=incoming.actor):
        return Outcome.ignored("nothing of this actor to undo")
    await remote_content.remove_reaction(incoming.actor, undone)
    return Outcome.processed("reaction removed")
