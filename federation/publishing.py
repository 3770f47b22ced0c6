"""Publishing help posts: Create, Update and Delete to followers; the neighbourhood
announces public posts to its own followers.

Called by the event consumer for `PostPublished` and `PostStatusChanged`. Each activity
is stored once (it appears in the actor's outbox) with one delivery per inbox; shared
inboxes are used when a server has one, so a server gets each activity once.
"""

from __future__ import annotations

import uuid
from typing import Any

from federation import outbox, proposals
from federation.context import Federation
from federation.vocab import AS_CONTEXT, PUBLIC
from node import uris
from node.models import HelpPost, OutgoingFollow, Visibility
from node.services.follows import THIS_NODE
from node.services.remote_follows import remote_followers
from node.services.responses import accepted_counts
from node.states import FollowStatus, PostStatus

GONE = (PostStatus.WITHDRAWN, PostStatus.EXPIRED)


async def _load(post_id: str) -> HelpPost | None:
    return await HelpPost.get_or_none(id=uuid.UUID(post_id)).prefetch_related(
        "author", "organisation", "neighbourhood"
    )


async def relay_inboxes() -> list[str]:
    """Relays we subscribe to pass our public posts on to their other members."""
    rows = await OutgoingFollow.filter(
        is_relay=True, status=FollowStatus.ACCEPTED
    ).prefetch_related("target")
    return [row.target.inbox for row in rows]


async def _inboxes(target: Any) -> list[str]:
    return sorted({actor.delivery_inbox for actor in await remote_followers(target)})


def _owner(post: HelpPost) -> Any:
    return post.organisation if post.organisation_id else post.author


async def _note(fed: Federation, post: HelpPost) -> dict[str, Any]:
    accepted = (await accepted_counts([post.id])).get(post.id, 0)
    return proposals.post_to_note(fed.settings, post, max(post.helpers_needed - accepted, 0))


def _activity(fed: Federation, kind: str, actor_url: str, obj: Any, note: dict) -> dict:
    _, activity_id = outbox.new_activity_id(fed)
    return {
        "@context": proposals.CONTEXT,
        "id": activity_id,
        "type": kind,
        "actor": actor_url,
        "object": obj,
        "to": note["to"],
        "cc": note["cc"],
    }


async def _send_to_followers(
    fed: Federation, post: HelpPost, kind: str, obj: dict, note: dict
) -> None:
    owner = _owner(post)
    embedded = {k: v for k, v in obj.items() if k != "@context"}
    activity = _activity(fed, kind, note["attributedTo"], embedded, note)
    inboxes = await _inboxes(owner)
    if post.visibility == Visibility.PUBLIC:
        inboxes += await relay_inboxes()
    await outbox.enqueue(fed, owner, activity, inboxes, object_uri=note["id"])
    if post.visibility == Visibility.PUBLIC:
        await _announce(fed, post, activity if kind != "Create" else None, note)


async def _announce(fed: Federation, post: HelpPost, wrapped: dict | None, note: dict) -> None:
    """The neighbourhood shares the post with its followers (Mastodon shows a boost), and
    the node's own actor with the nodes that follow the whole node.

    A new post is announced by id (Mastodon fetches the Note); updates and deletions are
    announced as the activity itself, as FEP-1b12 groups do.
    """
    hood = post.neighbourhood
    for sharer, path in ((hood, uris.neighbourhood(hood.slug)), (THIS_NODE, uris.INSTANCE_ACTOR)):
        inboxes = await _inboxes(sharer)
        if sharer is THIS_NODE and not inboxes:
            continue  # nobody follows the node itself: no activity to keep
        _, activity_id = outbox.new_activity_id(fed)
        announce = {
            "@context": AS_CONTEXT,
            "id": activity_id,
            "type": "Announce",
            "actor": uris.absolute(fed.settings, path),
            "object": wrapped if wrapped is not None else note["id"],
            "to": [PUBLIC],
            "cc": [uris.absolute(fed.settings, uris.followers(path))],
        }
        await outbox.enqueue(fed, sharer, announce, inboxes, object_uri=note["id"])


async def on_post_published(fed: Federation, payload: dict) -> str | None:
    post = await _load(payload["post_id"])
    if post is None or post.visibility == Visibility.MEMBERS:
        return None
    note = await _note(fed, post)
    await _send_to_followers(fed, post, "Create", note, note)
    return f"Create of {note['id']}"


async def on_post_status_changed(fed: Federation, payload: dict) -> str | None:
    post = await _load(payload["post_id"])
    if post is None or post.visibility == Visibility.MEMBERS:
        return None
    if post.status in GONE:
        note_id = uris.absolute(fed.settings, uris.post(post.id))
        await outbox.cancel_pending(note_id)
        note = await _note(fed, post)
        tombstone = proposals.tombstone(fed.settings, post)
        await _send_to_followers(fed, post, "Delete", tombstone, note)
        return f"Delete of {note_id}"
    note = await _note(fed, post)
    await _send_to_followers(fed, post, "Update", note, note)
    return f"Update of {note['id']} ({post.status})"
