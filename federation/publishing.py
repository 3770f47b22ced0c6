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
from node.services import remote_actors
from node.services.follows import THIS_NODE
from node.services.remote_follows import remote_followers
from node.services.responses import accepted_counts
from node.states import FollowStatus, PostStatus

GONE = (PostStatus.WITHDRAWN, PostStatus.EXPIRED)


async def _load(post_id: str) -> HelpPost | None:
    """The post with what its Note and its recipients need, partners included."""
    return await HelpPost.get_or_none(id=uuid.UUID(post_id)).prefetch_related(
        "author",
        "organisation",
        "neighbourhood",
        "partners__organisation",
        "partners__remote_actor",
    )


def _partner_rows(post: HelpPost) -> list[Any]:
    return sorted(post.partners, key=lambda row: row.id)


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


def _partners(fed: Federation, post: HelpPost) -> list[proposals.Partner]:
    found = []
    for row in _partner_rows(post):
        if row.organisation is not None:
            path = uris.organisation(row.organisation.slug)
            handle = f"@{row.organisation.slug}@{fed.settings.domain}"
            found.append(proposals.Partner(uris.absolute(fed.settings, path), handle))
        elif row.remote_actor is not None:
            found.append(proposals.Partner(row.remote_actor.uri, row.remote_actor.handle))
    return found


async def _note(fed: Federation, post: HelpPost) -> dict[str, Any]:
    accepted = (await accepted_counts([post.id])).get(post.id, 0)
    slots_left = max(post.helpers_needed - accepted, 0)
    return proposals.post_to_note(fed.settings, post, slots_left, _partners(fed, post))


def _partner_inboxes(post: HelpPost) -> list[str]:
    """Partner organisations on other nodes hear of the request whoever follows it."""
    return [
        row.remote_actor.delivery_inbox
        for row in _partner_rows(post)
        if row.remote_actor is not None
    ]


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


def _embedded(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k != "@context"}


async def _send_to_followers(
    fed: Federation, post: HelpPost, kind: str, obj: dict, note: dict
) -> None:
    owner = _owner(post)
    activity = _activity(fed, kind, note["attributedTo"], _embedded(obj), note)
    inboxes = await _inboxes(owner) + _partner_inboxes(post)
    if post.visibility == Visibility.PUBLIC:
        inboxes += await relay_inboxes()
    await outbox.enqueue(fed, owner, activity, inboxes, object_uri=note["id"])
    if post.visibility == Visibility.PUBLIC:
        await _announce(fed, post, activity, note)


# Followers of these types are software that understands FEP-1b12 group federation
# (other nodes' instance actors and groups): they get Announce(Create) like any other
# announced activity; people's servers (Mastodon) get Announce of the Note's id.
FEP_1B12_FOLLOWERS = frozenset({"Application", "Group", "Service"})


def _sharers(post: HelpPost) -> list[tuple[Any, str]]:
    """Who shares a public post: its neighbourhood, and the node itself (for the nodes
    that follow the whole node)."""
    hood = post.neighbourhood
    return [(hood, uris.neighbourhood(hood.slug)), (THIS_NODE, uris.INSTANCE_ACTOR)]


async def _share(
    fed: Federation, sharer: Any, path: str, obj: Any, inboxes: list[str], note_id: str
) -> None:
    _, activity_id = outbox.new_activity_id(fed)
    announce = {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Announce",
        "actor": uris.absolute(fed.settings, path),
        "object": {k: v for k, v in obj.items() if k != "@context"}
        if isinstance(obj, dict)
        else obj,
        "to": [PUBLIC],
        "cc": [uris.absolute(fed.settings, uris.followers(path))],
    }
    await outbox.enqueue(fed, sharer, announce, inboxes, object_uri=note_id)


async def _announce(fed: Federation, post: HelpPost, activity: dict, note: dict) -> None:
    """Share a post with the sharers' followers (Mastodon shows a boost).

    A new post goes by id to people's servers and as the Create to FEP-1b12 peers;
    updates and deletions go as the activity itself to everyone, as groups do.
    """
    for sharer, path in _sharers(post):
        followers = await remote_followers(sharer)
        if sharer is THIS_NODE and not followers:
            continue  # nobody follows the node itself: no activity to keep
        everyone = sorted({f.delivery_inbox for f in followers})
        if activity["type"] != "Create":
            await _share(fed, sharer, path, activity, everyone, note["id"])
            continue
        # A shared inbox counts as a peer only if nobody behind it is a person.
        people_inboxes = {
            f.delivery_inbox for f in followers if f.actor_type not in FEP_1B12_FOLLOWERS
        }
        peers = sorted(set(everyone) - people_inboxes)
        await _share(fed, sharer, path, note["id"], sorted(set(everyone) - set(peers)), note["id"])
        if peers:
            await _share(fed, sharer, path, activity, peers, note["id"])


async def on_post_published(fed: Federation, payload: dict) -> str | None:
    post = await _load(payload["post_id"])
    if post is None or post.visibility == Visibility.MEMBERS:
        return None
    note = await _note(fed, post)
    await _send_to_followers(fed, post, "Create", note, note)
    return f"Create of {note['id']}"


async def on_post_edited(fed: Federation, payload: dict) -> str | None:
    post = await _load(payload["post_id"])
    if post is None or post.visibility == Visibility.MEMBERS or post.status in GONE:
        return None
    note = await _note(fed, post)
    await _send_to_followers(fed, post, "Update", note, note)
    return f"Update of {note['id']} (edited)"


async def on_partner_removed(fed: Federation, payload: dict) -> str | None:
    """The former partner gets the Note as it is now, without its mention; a post that
    is not public is deleted for them instead (they may no longer see it)."""
    post = await _load(payload["post_id"])
    former = await remote_actors.by_uri(payload["actor_uri"])
    if post is None or former is None or post.status in GONE:
        return None
    note = await _note(fed, post)
    if post.visibility == Visibility.PUBLIC:
        activity = _activity(fed, "Update", note["attributedTo"], _embedded(note), note)
    else:
        tombstone = proposals.tombstone(fed.settings, post)
        activity = _activity(fed, "Delete", note["attributedTo"], _embedded(tombstone), note)
    activity["to"], activity["cc"] = [former.uri], []
    await outbox.enqueue(
        fed, _owner(post), activity, [former.delivery_inbox], object_uri=note["id"]
    )
    return f"{activity['type']} of {note['id']} to former partner {former.uri}"


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
