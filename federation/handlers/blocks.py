"""Block: a remote actor blocks one of ours; we stop its follow of that actor."""

from __future__ import annotations

from federation.handlers.local import local_actor
from federation.handlers.registry import Incoming, Outcome, handles
from federation.vocab import id_of
from node.services import remote_follows


@handles("Block")
async def block(incoming: Incoming) -> Outcome:
    target = await local_actor(incoming.fed, id_of(incoming.object))
    if target is None:
        return Outcome.ignored("blocks nothing of ours")
    await remote_follows.undo_remote_follow(incoming.actor, None, target)
    return Outcome.processed("follow removed")
