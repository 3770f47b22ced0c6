"""What an incoming activity's object is: its family, which picks the handler.

An embedded object says what it is by its type. A bare id (or a Tombstone) says
nothing, so the family comes from what we hold: a Delete names the sender itself, a
reply (public, or direct in a conversation) or a remote post it published here; an
Undo names a follow or a reaction of the sender's. Only activity types that have
handlers by family are classified at all: a Like or a Flag goes to its one handler
without a look-up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from federation.handlers.local import local_post
from federation.handlers.registry import Family, Handler, Incoming, by_family, handler_for
from federation.parse import is_http_url, is_proposal, is_service
from federation.vocab import id_of, type_of
from node.models import (
    ConversationMessage,
    Follow,
    Reaction,
    RemotePost,
    RemoteService,
    Response,
)

ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})
NOTE_TYPES = frozenset({"Note", "Article", "Page", "Question"})
REACTION_TYPES = frozenset({"Like", "Announce"})


def names_usable_id(obj: object) -> bool:
    """Whether the object's id, if it has one, is a URL we could hold (any longer one, or
    one that is not a URL, names nothing here, and no column could even be asked for it)."""
    if isinstance(obj, dict):
        return "id" not in obj or is_http_url(obj["id"])
    return not isinstance(obj, str) or is_http_url(obj)


def by_type(obj: object) -> Family:
    """The family of an embedded object by its type alone (OTHER for a bare id)."""
    if not isinstance(obj, dict):
        return Family.OTHER
    kind = type_of(obj)
    if kind in ACTOR_TYPES:
        return Family.ACTOR
    if is_service(obj):
        return Family.SERVICE
    if is_proposal(obj):
        return Family.POST
    if kind in NOTE_TYPES:
        return Family.NOTE
    if kind == "Follow":
        return Family.FOLLOW
    if kind in REACTION_TYPES:
        return Family.REACTION
    if kind == "Agreement":
        return Family.AGREEMENT
    return Family.OTHER


async def _create(incoming: Incoming) -> Family:
    obj = incoming.object
    family = by_type(obj)
    # A request or offer that answers one of ours is a reply like any other.
    if family == Family.POST:
        answered = await local_post(incoming.fed, id_of(obj.get("inReplyTo")), incoming.cache)
        if answered is None:
            return Family.POST
        return Family.NOTE if type_of(obj) in NOTE_TYPES else Family.OTHER
    return family


async def _update(incoming: Incoming) -> Family:
    obj = incoming.object
    if not isinstance(obj, dict):
        return Family.OTHER
    if type_of(obj) in ACTOR_TYPES:
        return Family.ACTOR
    # A remote post we hold stays one, whatever its new version claims to be.
    if await RemotePost.exists(object_uri=obj.get("id"), actor=incoming.actor):
        return Family.POST
    if is_service(obj):
        return Family.SERVICE
    return Family.NOTE if type_of(obj) in NOTE_TYPES else Family.OTHER


async def _delete(incoming: Incoming) -> Family:
    target = id_of(incoming.object)
    if target is None:
        return Family.OTHER
    if target == incoming.actor.uri:
        return Family.ACTOR
    if await Response.exists(object_uri=target, remote_author=incoming.actor):
        return Family.NOTE
    # A direct reply in a request's private conversation (`conversation_replies`).
    if await ConversationMessage.exists(object_uri=target, remote_author=incoming.actor):
        return Family.NOTE
    if await RemotePost.exists(object_uri=target, actor=incoming.actor):
        return Family.POST
    if await RemoteService.exists(object_uri=target, actor=incoming.actor):
        return Family.SERVICE
    return Family.OTHER


async def _undo(incoming: Incoming) -> Family:
    family = by_type(incoming.object)
    if family in (Family.FOLLOW, Family.REACTION):
        return family
    undone = id_of(incoming.object)
    if undone is None:
        return Family.OTHER
    if await Follow.exists(activity_uri=undone, follower_remote=incoming.actor):
        return Family.FOLLOW
    if await Reaction.exists(activity_uri=undone, actor=incoming.actor):
        return Family.REACTION
    return Family.OTHER


async def _answer(incoming: Incoming) -> Family:
    """Accept or Reject: of a Follow we sent, embedded or named by its id."""
    obj = incoming.object
    if isinstance(obj, dict) and obj.get("type") not in (None, "Follow"):
        return by_type(obj)
    return Family.FOLLOW


async def _embedded(incoming: Incoming) -> Family:
    return by_type(incoming.object)


CLASSIFIERS: dict[str, Callable[[Incoming], Awaitable[Family]]] = {
    "Create": _create,
    "Update": _update,
    "Delete": _delete,
    "Undo": _undo,
    "Accept": _answer,
    "Reject": _answer,
}


async def family_of(incoming: Incoming, activity_type: str) -> Family:
    return await CLASSIFIERS.get(activity_type, _embedded)(incoming)


async def dispatch(incoming: Incoming, activity_type: str) -> tuple[Family | None, Handler | None]:
    """The family of the object (None when not needed) and the handler to run."""
    if not by_family(activity_type):
        return None, handler_for(activity_type)
    family = await family_of(incoming, activity_type)
    return family, handler_for(activity_type, family)
