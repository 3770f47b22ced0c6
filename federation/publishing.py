"""Publishing help posts: the author's Create, Update and Delete, and the neighbourhood's
(and the node's) Announce of public posts.

Called by the event consumer for `PostPublished`, `PostEdited`, `PostStatusChanged` and
`PartnerRemoved`, and by `federation.moderation_outgoing` when a post is hidden. Each
activity is stored once (it appears in the actor's outbox) with one delivery per inbox;
shared inboxes are used when a server has one, so a server gets each activity once.

A new public post reaches the author's followers as `Create` and the sharers' followers
as `Announce`: of the Note's id for people's servers (Mastodon fetches it and shows a
boost), of the `Create` for FEP-1b12 peers (other nodes, groups).

A change (edit, matched, done, reopened; withdrawn, expired or hidden as `Delete`) is
sent by the Note's author, because Mastodon applies an `Update` or `Delete` only from
the object's author and drops a group's `Announce` of either. It goes once to every inbox
that holds the post: the author's followers, partners, relays, people following the
sharers, and every inbox that was sent the post before. FEP-1b12 peers that follow a
sharer get the sharer's `Announce` of the change instead, as FEP-1b12 groups do (they
trust what the group they follow shares, and fetch the post from its origin).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from federation import activities, outbox, proposals
from federation.context import Federation
from node import uris
from node.models import HelpPost, OutgoingFollow, RemoteActor, Visibility
from node.services import domain_policy, remote_actors
from node.services.follows import THIS_NODE
from node.services.remote_follows import remote_followers
from node.services.responses import accepted_counts, places_left
from node.services.visibility import is_federated
from node.states import FollowStatus, PostStatus

GONE = (PostStatus.WITHDRAWN, PostStatus.EXPIRED)

# Followers of these types are software that understands FEP-1b12 group federation
# (other nodes' instance actors and groups): they get the group's Announce of activities;
# people's servers (Mastodon) get Announce of the Note's id and the author's own changes.
FEP_1B12_FOLLOWERS = frozenset({"Application", "Group", "Service"})


async def load_post(post_id: str) -> HelpPost | None:
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
    inboxes = [row.target.inbox for row in rows]
    # Limited (or suspended) servers get our posts only from what someone there follows.
    limited = await domain_policy.limited_among(urlsplit(i).netloc.lower() for i in inboxes)
    return [inbox for inbox in inboxes if urlsplit(inbox).netloc.lower() not in limited]


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
    slots_left = places_left(post.helpers_needed, accepted)
    return proposals.post_to_note(fed.settings, post, slots_left, _partners(fed, post))


def _partner_inboxes(post: HelpPost) -> set[str]:
    """Partner organisations on other nodes hear of the request whoever follows it."""
    return {
        row.remote_actor.delivery_inbox
        for row in _partner_rows(post)
        if row.remote_actor is not None
    }


def _shared(post: HelpPost) -> bool:
    """Public posts are announced and relayed; a silenced author's posts go to the
    author's followers only (as Mastodon's silence does)."""
    return post.visibility == Visibility.PUBLIC and not post.author.is_silenced


@dataclass
class Sharer:
    """A local actor that announces public posts to its followers, split in two."""

    actor: Any
    path: str
    followers: list[RemoteActor]
    people: set[str] = field(default_factory=set)  # inboxes behind which a person may be
    peers: set[str] = field(default_factory=set)  # inboxes of FEP-1b12 software only


async def _sharers(post: HelpPost) -> list[Sharer]:
    """Who shares a public post: its neighbourhood, and the node itself (for the nodes
    that follow the whole node)."""
    if not _shared(post):
        return []
    hood = post.neighbourhood
    found = []
    for actor, path in ((hood, uris.neighbourhood(hood.slug)), (THIS_NODE, uris.INSTANCE_ACTOR)):
        followers = await remote_followers(actor)
        if actor is THIS_NODE and not followers:
            continue  # nobody follows the node itself: no activity to keep
        sharer = Sharer(actor, path, followers)
        everyone = {f.delivery_inbox for f in followers}
        # A shared inbox counts as a peer only if nobody behind it is a person.
        sharer.people = {
            f.delivery_inbox for f in followers if f.actor_type not in FEP_1B12_FOLLOWERS
        }
        sharer.peers = everyone - sharer.people
        found.append(sharer)
    return found


async def _audience(post: HelpPost) -> set[str]:
    """The inboxes that get the author's own activities about the post."""
    inboxes = {f.delivery_inbox for f in await remote_followers(_owner(post))}
    inboxes |= _partner_inboxes(post)
    if _shared(post):
        inboxes |= set(await relay_inboxes())
    return inboxes


async def _share(
    fed: Federation, sharer: Sharer, obj: Any, inboxes: set[str], note_id: str
) -> None:
    _, activity_id = outbox.new_activity_id(fed)
    actor = uris.absolute(fed.settings, sharer.path)
    followers = uris.absolute(fed.settings, uris.followers(sharer.path))
    announce = activities.announce(activity_id, actor, obj, followers)
    await outbox.enqueue(fed, sharer.actor, announce, sorted(inboxes), object_uri=note_id)


def _authored(fed: Federation, kind: str, obj: Any, note: dict[str, Any]) -> dict[str, Any]:
    _, activity_id = outbox.new_activity_id(fed)
    return activities.about_post(kind, activity_id, note["attributedTo"], obj, note)


async def _publish(fed: Federation, post: HelpPost, note: dict[str, Any]) -> None:
    create = _authored(fed, "Create", note, note)
    await outbox.enqueue(
        fed, _owner(post), create, sorted(await _audience(post)), object_uri=note["id"]
    )
    for sharer in await _sharers(post):
        # The group's outbox lists the boost even while nobody elsewhere follows it.
        await _share(fed, sharer, note["id"], sharer.people, note["id"])
        if sharer.peers:
            await _share(fed, sharer, create, sharer.peers, note["id"])


async def _change(
    fed: Federation, post: HelpPost, kind: str, obj: dict[str, Any], note: dict[str, Any]
) -> int:
    """Send the author's Update or Delete to every inbox holding the post; FEP-1b12 peers
    of the sharers get the sharers' Announce of it. Returns how many inboxes it reaches."""
    audience = await _audience(post)
    sharers = await _sharers(post)
    peers: set[str] = set()
    for sharer in sharers:
        audience |= sharer.people
        peers |= sharer.peers
    # Servers sent the post before hold a copy, even if they unfollowed since; an Update of
    # a post that is not public must not reach them, a Delete always may.
    if kind == "Delete" or post.visibility == Visibility.PUBLIC:
        earlier = await outbox.inboxes_sent(object_uri=note["id"])
        audience = await outbox.with_earlier(audience | peers, earlier - peers) - (peers - audience)
    activity = _authored(fed, kind, obj, note)
    await outbox.enqueue(fed, _owner(post), activity, sorted(audience), object_uri=note["id"])
    for sharer in sharers:
        if sharer.peers:
            await _share(fed, sharer, activity, sharer.peers, note["id"])
    return len(audience | peers)


async def send_delete(fed: Federation, post: HelpPost) -> str:
    """The post is gone (withdrawn, expired, hidden): what was not sent yet is cancelled,
    and a Delete reaches every inbox that holds it."""
    note_id = uris.absolute(fed.settings, uris.post(post.id))
    await outbox.cancel_pending(note_id)
    note = await _note(fed, post)
    deleted = post.hidden_at or post.status_changed_at
    reached = await _change(fed, post, "Delete", activities.tombstone(note_id, deleted), note)
    await outbox.unlist(note_id)
    return f"Delete of {note_id} to {reached} inbox(es)"


def _federated(post: HelpPost | None) -> bool:
    """Whether other servers hear of this post at all (hidden posts: only their Delete)."""
    return post is not None and is_federated(post.visibility) and post.hidden_at is None


async def on_post_published(fed: Federation, payload: dict) -> str | None:
    post = await load_post(payload["post_id"])
    if not _federated(post):
        return None
    note = await _note(fed, post)
    await _publish(fed, post, note)
    return f"Create of {note['id']}"


async def on_post_edited(fed: Federation, payload: dict) -> str | None:
    post = await load_post(payload["post_id"])
    if not _federated(post) or post.status in GONE:
        return None
    note = await _note(fed, post)
    reached = await _change(fed, post, "Update", note, note)
    return f"Update of {note['id']} (edited) to {reached} inbox(es)"


async def on_partner_removed(fed: Federation, payload: dict) -> str | None:
    """The former partner gets the Note as it is now, without its mention; a post that
    is not public is deleted for them instead (they may no longer see it)."""
    post = await load_post(payload["post_id"])
    former = await remote_actors.by_uri(payload["actor_uri"])
    if not _federated(post) or former is None or post.status in GONE:
        return None
    note = await _note(fed, post)
    if post.visibility == Visibility.PUBLIC:
        activity = _authored(fed, "Update", note, note)
    else:
        tombstone = activities.tombstone(note["id"], post.status_changed_at)
        activity = _authored(fed, "Delete", tombstone, note)
    activity["to"], activity["cc"] = [former.uri], []
    await outbox.enqueue(
        fed, _owner(post), activity, [former.delivery_inbox], object_uri=note["id"]
    )
    return f"{activity['type']} of {note['id']} to former partner {former.uri}"


async def on_post_status_changed(fed: Federation, payload: dict) -> str | None:
    post = await load_post(payload["post_id"])
    if not _federated(post):
        return None
    if post.status in GONE:
        return await send_delete(fed, post)
    note = await _note(fed, post)
    reached = await _change(fed, post, "Update", note, note)
    return f"Update of {note['id']} ({post.status}) to {reached} inbox(es)"
