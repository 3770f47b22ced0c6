"""Every activity this node sends, built in one place (as GoToSocial's typeutils do).

Pure functions: they take ids and documents and return the JSON to store and sign; they
never read the database nor choose recipients (the callers do, and `federation.outbox`
enqueues). Activity ids come from `outbox.new_activity_id` or are passed in by the
caller. Embedded objects lose their own `@context`: the activity carries one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from federation.vocab import ACTOR_CONTEXT, AS_CONTEXT, PUBLIC

JsonObject = dict[str, Any]


def embedded(obj: Any) -> Any:
    """An object inside an activity: a URL stays a URL, a document loses `@context`."""
    if isinstance(obj, dict):
        return {k: v for k, v in obj.items() if k != "@context"}
    return obj


def isoformat(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


# --- follows -----------------------------------------------------------------------------


def follow(activity_id: str, actor: str, target: str, *, relay: bool = False) -> JsonObject:
    """A Follow of a remote actor. Relays are followed as Mastodon does: the object is
    the Public collection, which ActivityRelay-style relays expect and LitePub relays
    accept."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Follow",
        "actor": actor,
        "object": PUBLIC if relay else target,
        "to": [target],
    }


def answer_follow(
    activity_id: str, actor: str, follow_id: str, follower: str, *, accepted: bool
) -> JsonObject:
    """Accept or Reject of a remote Follow, addressed to the follower alone.

    Mastodon matches the answer by the Follow's id; embedding it (ids only) helps the
    others.
    """
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Accept" if accepted else "Reject",
        "actor": actor,
        "to": [follower],
        "object": {"id": follow_id, "type": "Follow", "actor": follower, "object": actor},
    }


def undo(activity_id: str, actor: str, undone: JsonObject, to: str) -> JsonObject:
    """Undo of an activity we sent, embedded as it was sent (its stored payload)."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Undo",
        "actor": actor,
        "object": embedded(undone),
        "to": [to],
    }


# --- posts -------------------------------------------------------------------------------


def about_post(kind: str, activity_id: str, actor: str, obj: Any, note: JsonObject) -> JsonObject:
    """Create, Update or Delete of one of our Notes by its author, addressed as the Note."""
    return {
        "@context": note.get("@context", AS_CONTEXT),
        "id": activity_id,
        "type": kind,
        "actor": actor,
        "object": embedded(obj),
        "to": list(note["to"]),
        "cc": list(note["cc"]),
    }


def tombstone(object_id: str, deleted: datetime | None, former_type: str = "Note") -> JsonObject:
    """What a deleted object becomes (the object of a Delete)."""
    return {
        "@context": AS_CONTEXT,
        "id": object_id,
        "type": "Tombstone",
        "formerType": former_type,
        "deleted": isoformat(deleted),
    }


def announce(activity_id: str, actor: str, obj: Any, followers: str) -> JsonObject:
    """A group (or the node) shares something with its followers: a Note by id for
    people's servers, an activity (FEP-1b12) for peers."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Announce",
        "actor": actor,
        "object": embedded(obj),
        "to": [PUBLIC],
        "cc": [followers],
    }


# --- actors ------------------------------------------------------------------------------


def update_actor(activity_id: str, document: JsonObject, followers: str) -> JsonObject:
    """An actor's Update of its own document (Mastodon takes it only from that actor)."""
    return {
        "@context": ACTOR_CONTEXT,
        "id": activity_id,
        "type": "Update",
        "actor": document["id"],
        "object": embedded(document),
        "to": [PUBLIC],
        "cc": [followers],
    }


def delete_actor(activity_id: str, actor: str) -> JsonObject:
    """An account deleted for other servers: Delete whose object is the actor itself, as
    Mastodon sends it (its receiving side then removes the account and its posts)."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Delete",
        "actor": actor,
        "object": actor,
        "to": [PUBLIC],
    }


# --- moderation --------------------------------------------------------------------------

FLAG_CONTENT_LIMIT = 5000  # Mastodon keeps the first 5,000 characters of a report


def flag(activity_id: str, actor: str, objects: Sequence[str], content: str) -> JsonObject:
    """A report forwarded to the reported content's server, in Mastodon's shape: the
    reported actor first, then the reported objects; the reporter is never named."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Flag",
        "actor": actor,
        "object": list(objects),
        "content": content[:FLAG_CONTENT_LIMIT],
        "to": [objects[0]],
    }


# --- conversations -----------------------------------------------------------------------


def direct_message(
    activity_id: str,
    actor: str,
    note_id: str,
    *,
    recipient: str,
    handle: str,
    in_reply_to: str | None,
    html: str,
    language: str,
) -> JsonObject:
    """Create of a Note for one person alone (Mastodon shows a private mention)."""
    note = {
        "id": note_id,
        "type": "Note",
        "attributedTo": actor,
        "to": [recipient],
        "cc": [],
        "inReplyTo": in_reply_to,
        "content": html,
        "contentMap": {language: html},
        "tag": [{"type": "Mention", "href": recipient, "name": handle}],
    }
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Create",
        "actor": actor,
        "to": [recipient],
        "cc": [],
        "object": note,
    }


def conversation_note(
    activity_id: str,
    actor: str,
    note_id: str,
    *,
    recipients: Sequence[tuple[str, str]],
    in_reply_to: str | None,
    html: str,
    language: str,
    published: datetime | None,
) -> JsonObject:
    """Create of a message of a request's private conversation: a direct Note to the
    helpers in `recipients` ((actor id, handle) pairs, all on one server), each named in
    `to` and by a Mention tag (without the tag Mastodon takes it for "limited" and does
    not show it as a private mention)."""
    to = [uri for uri, _ in recipients]
    note = {
        "id": note_id,
        "type": "Note",
        "attributedTo": actor,
        "to": to,
        "cc": [],
        "inReplyTo": in_reply_to,
        "published": isoformat(published),
        "content": html,
        "contentMap": {language: html},
        "tag": [{"type": "Mention", "href": uri, "name": handle} for uri, handle in recipients],
    }
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Create",
        "actor": actor,
        "published": isoformat(published),
        "to": to,
        "cc": [],
        "object": note,
    }


def answer_offer(
    activity_id: str,
    actor: str,
    offer_id: str,
    to: str,
    *,
    context: Any,
    agreement_id: str | None = None,
    satisfies: str | None = None,
) -> JsonObject:
    """FEP-0837: Accept of an Offer(Agreement) with the finalized Agreement as `result`
    (when `agreement_id` is given), or Reject of it."""
    answer: JsonObject = {
        "@context": context,
        "id": activity_id,
        "type": "Accept" if agreement_id else "Reject",
        "actor": actor,
        "object": offer_id,
        "to": [to],
    }
    if agreement_id:
        answer["result"] = {
            "type": "Agreement",
            "id": agreement_id,
            "stipulates": {
                "id": f"{agreement_id}#primary",
                "type": "Commitment",
                "satisfies": satisfies,
                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"},
            },
        }
    return answer
