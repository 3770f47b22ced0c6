"""Create, Update and Delete: replies to our posts, edits and deletions by their owners."""

from __future__ import annotations

from federation.handlers import Incoming, Outcome, handles, remote_posts
from federation.handlers.actors import delete_actor, is_actor_object, update_actor
from federation.handlers.local import local_post
from federation.parse import ParseError, is_proposal, parse_note, same_host
from federation.vocab import id_of
from node import uris
from node.errors import Conflict
from node.models import Visibility
from node.services import remote_content
from node.services import remote_posts as remote_posts_service

NOTE_TYPES = frozenset({"Note", "Article", "Page", "Question"})


@handles("Create")
async def create(incoming: Incoming) -> Outcome:
    obj = incoming.object
    if is_proposal(obj) and not await _replies_to_us(incoming, obj):
        return await remote_posts.store_created(incoming, obj)
    if not isinstance(obj, dict) or obj.get("type") not in NOTE_TYPES:
        return Outcome.ignored("not a note")
    try:
        note = parse_note(obj, incoming.actor.uri)
    except ParseError as exc:
        return Outcome.rejected(str(exc))
    if uris.is_local(incoming.fed.settings, note.id):
        return Outcome.rejected("claims a local id")
    post = await local_post(incoming.fed, note.in_reply_to, incoming.cache)
    if post is None:
        return Outcome.ignored("not a reply to one of our posts")
    # A remote reader can only answer what they could see: public posts.
    if post.visibility != Visibility.PUBLIC:
        return Outcome.rejected("reply to a post that is not public")
    try:
        await remote_content.add_remote_reply(
            incoming.actor, post, object_uri=note.id, html=note.html, text=note.text
        )
    except Conflict as exc:
        return Outcome.ignored(str(exc))
    return Outcome.processed("reply stored as a response")


@handles("Update")
async def update(incoming: Incoming) -> Outcome:
    obj = incoming.object
    if not isinstance(obj, dict):
        return Outcome.ignored("Update without an embedded object")
    if is_actor_object(obj):
        return await update_actor(incoming)
    known = await remote_posts.update_known(incoming, obj)
    if known is not None:
        return known
    if obj.get("type") not in NOTE_TYPES:
        return Outcome.ignored("not a note")
    try:
        note = parse_note(obj, incoming.actor.uri)
    except ParseError as exc:
        return Outcome.rejected(str(exc))
    if await remote_content.update_remote_reply(
        incoming.actor, note.id, html=note.html, text=note.text
    ):
        return Outcome.processed("reply updated")
    return Outcome.ignored("nothing of this actor to update")


@handles("Delete")
async def delete(incoming: Incoming) -> Outcome:
    target = id_of(incoming.object)
    if target is None:
        return Outcome.rejected("Delete of nothing")
    if target == incoming.actor.uri:
        return await delete_actor(incoming)
    if not same_host(target, incoming.actor.uri):
        return Outcome.rejected("object is not on the actor's host")
    # Only what this actor published can go: the service filters by author.
    if await remote_content.delete_remote_object(incoming.actor, target):
        return Outcome.processed("reply removed")
    if await remote_posts_service.delete_remote_post(incoming.actor, target):
        return Outcome.processed("remote request or offer removed")
    return Outcome.ignored("nothing of this actor to delete")


async def _replies_to_us(incoming: Incoming, obj: dict) -> bool:
    return await local_post(incoming.fed, id_of(obj.get("inReplyTo"))) is not None
