"""Delete and Undo of what we do not hold (the OTHER family): Mastodon sends a Delete of
every status to every server that knows its author, so most of them land here."""

from __future__ import annotations

from federation.handlers.registry import Family, Incoming, Outcome, handles
from federation.parse import same_host
from federation.vocab import id_of


@handles("Delete", objects=Family.OTHER)
async def delete(incoming: Incoming) -> Outcome:
    target = id_of(incoming.object)
    if target is None:
        return Outcome.rejected("Delete of nothing")
    if not same_host(target, incoming.actor.uri):
        return Outcome.rejected("object is not on the actor's host")
    return Outcome.ignored("nothing of this actor to delete")


@handles("Undo", objects=Family.OTHER)
async def undo(incoming: Incoming) -> Outcome:
    if id_of(incoming.object) is None:
        return Outcome.rejected("Undo of nothing")
    return Outcome.ignored("nothing of this actor to undo")
