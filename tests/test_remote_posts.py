"""Requests and offers from other nodes: stored when someone here follows, kept in sync,
shown as "nearby"; embedded copies are never trusted."""

from __future__ import annotations

from typing import Any

from node.models import RemotePost
from node.services import remote_follows
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import Node

VF = "https://w3id.org/valueflows/ont/vf#"


def proposal(remote: FakeRemote, name: str, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": remote.object_url(key),
        "type": "Note",
        "attributedTo": remote.actor_url(name),
        "name": "Help moving a wardrobe",
        "content": "<p>Two pairs of hands on Saturday.</p><script>x()</script>",
        "contentMap": {"en": "<p>Two pairs of hands on Saturday.</p>"},
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "purpose": "request",
        "location": {"type": "Place", "name": "Laeken", "latitude": 50.88, "longitude": 4.35},
        "publishes": {
            "type": "Intent",
            "id": remote.object_url(key) + "#primary",
            "action": "deliverService",
            "resourceConformsTo": "https://nabuur.org/ns/category/diy",
            "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "2"},
            "availableQuantity": {"hasUnit": "one", "hasNumericalValue": "2"},
        },
        "published": "2026-11-20T10:00:00Z",
        "somethingNew": {"we": "ignore"},
        **extra,
    }


async def follow_remote(node: Node, remote: FakeRemote, name: str) -> None:
    """Our node follows `name`, who accepts."""
    await remote_follows.request_follow(None, remote.actor_url(name))
    await node.work()
    follow = next(r.json for r in remote.received if r.json["type"] == "Follow")
    await node.post_activity(remote, name, remote.activity(name, "Accept", follow))
    await node.work()


async def test_followed_actors_requests_are_stored_synced_and_shown(
    node: Node, remote: FakeRemote
) -> None:
    await factories.neighbourhood("jette-centre", centre=(50.878, 4.325))
    await follow_remote(node, remote, "alice")
    note = proposal(remote, "alice", "p1")
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", note))
    await node.work()
    stored = await RemotePost.get(object_uri=note["id"])
    assert (stored.kind, stored.category, stored.helpers_needed) == ("request", "diy", 2)
    assert stored.status == "open" and stored.place_name == "Laeken"
    assert "<script>" not in str(stored.content_map)
    page = await node.client.get("/n/jette-centre", headers={"accept-language": "en"})
    assert "Nearby, on other nodes" in page.text and "Help moving a wardrobe" in page.text

    done = {**note, "publishes": {**note["publishes"], "finished": True}}
    await node.post_activity(remote, "alice", remote.activity("alice", "Update", done))
    await node.work()
    assert (await RemotePost.get(object_uri=note["id"])).status == "done"

    await node.post_activity(remote, "alice", remote.activity("alice", "Delete", note["id"]))
    await node.work()
    assert not await RemotePost.exists(object_uri=note["id"])


async def test_requests_from_strangers_are_ignored(node: Node, remote: FakeRemote) -> None:
    note = proposal(remote, "alice", "p2")
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", note))
    await node.work()
    assert await RemotePost.all().count() == 0


async def test_group_announce_is_fetched_not_trusted(node: Node, remote: FakeRemote) -> None:
    await follow_remote(node, remote, "bob")  # bob plays a neighbourhood group
    real = proposal(remote, "alice", "p3")
    remote.objects["p3"] = real
    forged = {**real, "name": "Send me your bank details"}
    await node.post_activity(remote, "bob", remote.activity("bob", "Announce", forged))
    await node.work()
    stored = await RemotePost.get(object_uri=real["id"]).prefetch_related("actor", "via")
    assert stored.title == "Help moving a wardrobe"  # from the origin, not the embedded copy
    assert stored.actor.uri == remote.actor_url("alice")
    assert stored.via.uri == remote.actor_url("bob")

    remote.gone.add("p3")
    wrapped = remote.activity("alice", "Delete", real["id"])
    await node.post_activity(remote, "bob", remote.activity("bob", "Announce", wrapped))
    await node.work()
    assert not await RemotePost.exists(object_uri=real["id"])


async def test_older_drafts_and_bare_numbers_are_read(node: Node, remote: FakeRemote) -> None:
    await follow_remote(node, remote, "alice")
    note = proposal(remote, "alice", "p4", type="Proposal")
    note["publishes"] = {"type": "Intent", "resourceQuantity": 3, "availableQuantity": "1"}
    del note["contentMap"]
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", note))
    await node.work()
    stored = await RemotePost.get(object_uri=note["id"])
    assert (stored.helpers_needed, stored.slots_left, stored.category) == (3, 1, "other")
