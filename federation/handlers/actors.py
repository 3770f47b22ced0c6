"""Updates and deletions of remote actors themselves (dispatched from Update/Delete)."""

from __future__ import annotations

from federation.handlers import Incoming, Outcome
from federation.parse import ParseError, parse_actor
from node.services import remote_actors

ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})


def is_actor_object(obj: object) -> bool:
    return isinstance(obj, dict) and obj.get("type") in ACTOR_TYPES


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


async def delete_actor(incoming: Incoming) -> Outcome:
    incoming.fed.forget_actor(incoming.actor.uri)
    await remote_actors.delete_remote_actor(incoming.actor.uri)
    return Outcome.processed("actor and its content removed")
