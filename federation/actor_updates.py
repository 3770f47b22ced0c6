"""Telling other servers that a neighbourhood's or organisation's profile changed.

An `Update` whose object is the whole actor document, sent by the actor itself (Mastodon
accepts an actor's Update only from that actor, and then takes the embedded document:
name, summary, icon, profile fields) to the shared inboxes of its followers.
"""

from __future__ import annotations

from federation import activities, outbox
from federation.context import Federation
from federation.documents import document_of
from node import uris
from node.services import local_actors
from node.services.remote_follows import remote_followers


async def on_actor_changed(fed: Federation, payload: dict) -> str | None:
    actor = await local_actors.load(payload["kind"], payload["key"])
    followers = await remote_followers(actor)
    if not followers:
        return None  # nobody elsewhere keeps a copy of this profile
    path = local_actors.path(actor)
    document = await document_of(fed.settings, actor)
    _, activity_id = outbox.new_activity_id(fed)
    followers_url = uris.absolute(fed.settings, uris.followers(path))
    activity = activities.update_actor(activity_id, document, followers_url)
    inboxes = sorted({follower.delivery_inbox for follower in followers})
    await outbox.enqueue(fed, actor, activity, inboxes)
    return f"Update of {document['id']} to {len(inboxes)} inbox(es)"
