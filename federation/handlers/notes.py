"""Notes (the NOTE family): replies to our posts, their edits and deletions by their authors;
votes on our surveys (`votes`), which Mastodon sends as Notes too; direct replies of
remote helpers in a request's private conversation (`conversation_replies`)."""

from __future__ import annotations

from federation.handlers.conversation_replies import conversation_reply
from federation.handlers.local import local_post
from federation.handlers.registry import Family, Incoming, Outcome, handles
from federation.handlers.votes import vote_on_survey
from federation.parse import ParseError, parse_note, same_host
from federation.vocab import id_of
from node import uris
from node.errors import Conflict
from node.services import remote_content
from node.services.visibility import remote_may_see


@handles("Create", objects=Family.NOTE)
async def create(incoming: Incoming) -> Outcome:
    try:
        note = parse_note(incoming.object, incoming.actor.uri)
    except ParseError as exc:
        return Outcome.rejected(str(exc))
    if uris.is_local(incoming.fed.settings, note.id):
        return Outcome.rejected("claims a local id")
    # A vote names an option and answers a survey: it is never taken for a reply.
    voted = await vote_on_survey(incoming, note)
    if voted is not None:
        return voted
    # A direct Note answering a request's private conversation is never a public reply.
    talked = await conversation_reply(incoming, note)
    if talked is not None:
        return talked
    post = await local_post(incoming.fed, note.in_reply_to, incoming.cache)
    if post is None:
        return Outcome.ignored("not a reply to one of our posts")
    # A remote reader can only answer what they could see: public posts, and followers-
    # only posts of an owner they follow (with approval).
    if not await remote_may_see(incoming.actor, post):
        return Outcome.rejected("reply to a post this actor may not see")
    try:
        await remote_content.add_remote_reply(
            incoming.actor,
            post,
            object_uri=note.id,
            html=note.html,
            text=note.text,
            cache=incoming.cache,
        )
    except Conflict as exc:
        return Outcome.ignored(str(exc))
    return Outcome.processed("reply stored as a response")


@handles("Update", objects=Family.NOTE)
async def update(incoming: Incoming) -> Outcome:
    try:
        note = parse_note(incoming.object, incoming.actor.uri)
    except ParseError as exc:
        return Outcome.rejected(str(exc))
    if await remote_content.update_remote_reply(
        incoming.actor, note.id, html=note.html, text=note.text
    ):
        return Outcome.processed("reply updated")
    return Outcome.ignored("nothing of this actor to update")


@handles("Delete", objects=Family.NOTE)
async def delete(incoming: Incoming) -> Outcome:
    """A reply this actor published here (classified by what we hold)."""
    target = id_of(incoming.object)
    if target is None or not same_host(target, incoming.actor.uri):
        return Outcome.rejected("object is not on the actor's host")
    # Only what this actor published can go: the service filters by author.
    if await remote_content.delete_remote_object(incoming.actor, target):
        return Outcome.processed("reply removed")
    return Outcome.ignored("nothing of this actor to delete")
