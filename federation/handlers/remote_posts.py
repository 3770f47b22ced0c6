"""Requests and offers from other nodes: what Create, Update, Delete and a followed
group's Announce do with them (the registered handlers dispatch here)."""

from __future__ import annotations

from dataclasses import replace

from federation.actors import ActorUnavailable, actor_by_uri, fetch_document
from federation.handlers.registry import Incoming, Outcome
from federation.parse import ParseError, mentions, parse_proposal, same_host
from federation.vocab import id_of
from node.models import Organisation, OutgoingFollow, RemotePost
from node.services import local_actors, remote_posts
from node.states import FollowStatus


def _proposal(obj: dict, actor_uri: str) -> remote_posts.RemotePostData:
    """The post read from `obj`; its `url` is kept only on its actor's host (a post
    must not send our readers to another server), else its id there, else none."""
    data = parse_proposal(obj, actor_uri)
    return replace(data, url=remote_posts.linkable_url(data.url, data.object_uri, actor_uri))


async def followed_here(incoming: Incoming) -> bool:
    """Whether one of our actors follows the sender (we take posts only from those)."""
    return await OutgoingFollow.exists(target=incoming.actor, status=FollowStatus.ACCEPTED)


async def partners_here(incoming: Incoming, obj: dict) -> list[int]:
    """Our organisations that an organisation elsewhere names as partners of its request.

    Only an `Organization` can name partners: a person's note that mentions one of our
    organisations is a reply or a mention, not a shared request.
    """
    if incoming.actor.actor_type != "Organization":
        return []
    found = []
    for uri in mentions(obj):
        actor = await local_actors.by_url(incoming.fed.settings, uri)
        if isinstance(actor, Organisation):
            found.append(actor.id)
    return found


async def store_created(incoming: Incoming, obj: dict) -> Outcome:
    partners = await partners_here(incoming, obj)
    followed = await followed_here(incoming)
    if not partners and not followed:
        return Outcome.ignored("a request or offer from someone nobody here follows")
    try:
        data = _proposal(obj, incoming.actor.uri)
    except ParseError as exc:
        return Outcome.rejected(str(exc))
    post = await remote_posts.upsert_remote_post(incoming.actor, data, partner_only=not followed)
    await remote_posts.set_partners(post, partners)
    return Outcome.processed("remote request or offer stored")


async def update_known(incoming: Incoming, obj: dict) -> Outcome | None:
    """Update of a remote post we hold; None when we hold no such post."""
    if not await RemotePost.exists(object_uri=obj.get("id"), actor=incoming.actor):
        return None
    try:
        data = _proposal(obj, incoming.actor.uri)
    except ParseError as exc:
        return Outcome.rejected(str(exc))
    followed = await followed_here(incoming)
    post = await remote_posts.upsert_remote_post(incoming.actor, data, partner_only=not followed)
    await remote_posts.set_partners(post, await partners_here(incoming, obj))
    return Outcome.processed("remote request or offer updated")


async def announced(incoming: Incoming) -> Outcome:
    """A followed group shares a post, or an update or deletion of one (FEP-1b12).

    Whatever is embedded is not trusted: the post is fetched from its origin.
    """
    if not await followed_here(incoming):
        return Outcome.ignored("an announce from someone nobody here follows")
    obj = incoming.object
    if isinstance(obj, dict) and obj.get("type") in ("Create", "Update", "Delete"):
        obj = obj.get("object")
    object_id = id_of(obj)
    if object_id is None:
        return Outcome.rejected("Announce of nothing")
    try:
        document = await fetch_document(incoming.fed, object_id)
    except ActorUnavailable as exc:
        if exc.status in (404, 410):
            await remote_posts.forget_remote_post(object_id)
            return Outcome.processed("announced post is gone")
        return Outcome.retry(exc.reason) if exc.temporary else Outcome.rejected(exc.reason)
    owner_uri = id_of(document.get("attributedTo"))
    if owner_uri is None or not same_host(owner_uri, object_id):
        return Outcome.rejected("the post's owner is not on its host")
    try:
        owner = await actor_by_uri(incoming.fed, owner_uri)
        data = _proposal(document, owner.uri)
    except ActorUnavailable as exc:
        return Outcome.retry(exc.reason) if exc.temporary else Outcome.rejected(exc.reason)
    except ParseError as exc:
        return Outcome.ignored(str(exc))
    await remote_posts.upsert_remote_post(owner, data, via=incoming.actor)
    return Outcome.processed("announced request or offer stored")
