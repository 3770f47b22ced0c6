"""Requests and offers from other nodes (the POST family, FEP-0837): Create, Update and
Delete by their authors. What is stored, and from whom, is `remote_posts`'s rule."""

from __future__ import annotations

from federation.handlers import remote_posts
from federation.handlers.registry import Family, Incoming, Outcome, handles
from federation.parse import same_host
from federation.vocab import id_of
from node.services import remote_posts as remote_posts_service


@handles("Create", objects=Family.POST)
async def create(incoming: Incoming) -> Outcome:
    return await remote_posts.store_created(incoming, incoming.object)


@handles("Update", objects=Family.POST)
async def update(incoming: Incoming) -> Outcome:
    """An update of a remote post we hold (classified so by what we hold)."""
    known = await remote_posts.update_known(incoming, incoming.object)
    return known if known is not None else Outcome.ignored("nothing of this actor to update")


@handles("Delete", objects=Family.POST)
async def delete(incoming: Incoming) -> Outcome:
    target = id_of(incoming.object)
    if target is None or not same_host(target, incoming.actor.uri):
        return Outcome.rejected("object is not on the actor's host")
    if await remote_posts_service.delete_remote_post(incoming.actor, target):
        return Outcome.processed("remote request or offer removed")
    return Outcome.ignored("nothing of this actor to delete")
