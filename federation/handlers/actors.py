"""Update and Delete of remote actors themselves (the ACTOR family)."""

from __future__ import annotations

from federation.handlers.registry import Family, Incoming, Outcome, handles
from federation.parse import ParseError, parse_actor
from node.services import remote_actors


@handles("Update", objects=Family.ACTOR)
async def update_actor(incoming: Incoming) -> Outcome:
    """The signer is the actor (checked at the inbox), so its embedded self is trusted."""
    obj = incoming.object
    if obj.get("id") != incoming.actor.uri:
        return Outcome.rejected("an actor may only update itself")
    try:
        data = parse_actor(obj, incoming.actor.uri)
    except ParseError as exc:
        return Outcome.rejected(str(exc))
    incoming.fed.forget_actor(data.uri)
    await remote_actors.upsert_remote_actor(data)
    return Outcome.processed("actor updated")


@handles("Delete", objects=Family.ACTOR)
async def delete_actor(incoming: Incoming) -> Outcome:
    """A Delete of the sender itself (classified so only when the id is the sender's)."""
    incoming.fed.forget_actor(incoming.actor.uri)
    await remote_actors.delete_remote_actor(incoming.actor.uri)
    return Outcome.processed("actor and its content removed")
