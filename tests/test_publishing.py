"""Publishing posts to followers elsewhere: Create, Update, Delete, and the group's Announce."""

from __future__ import annotations

from federation.vocab import PUBLIC
from node.models import Delivery, DeliveryStatus, DomainPolicy, OutboxActivity
from node.services import moderation, posts, remote_follows
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node


async def followed_setup(node: Node, remote: FakeRemote):
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    # alice follows greet; bob follows the neighbourhood
    await node.post_activity(remote, "alice", remote.activity("alice", "Follow", f"{BASE}/@greet"))
    await node.post_activity(
        remote, "bob", remote.activity("bob", "Follow", f"{BASE}/n/jette-centre")
    )
    await node.work()
    remote.received.clear()
    return hood, greet


def received(remote: FakeRemote) -> list[tuple[str, str, object]]:
    return [(r.json["type"], r.json["actor"], r.json["object"]) for r in remote.received]


async def test_create_and_announce_reach_followers(node: Node, remote: FakeRemote) -> None:
    hood, greet = await followed_setup(node, remote)
    post = await factories.post(greet, hood, title="Hond uitlaten", category="pets")
    await node.work()
    note_id = f"{BASE}/r/{post.id}"
    kinds = {(kind, actor) for kind, actor, _ in received(remote)}
    assert kinds == {("Create", f"{BASE}/@greet"), ("Announce", f"{BASE}/n/jette-centre")}
    create = next(r.json for r in remote.received if r.json["type"] == "Create")
    assert create["object"]["id"] == note_id and "@context" not in create["object"]
    assert "Hond uitlaten" in create["object"]["content"]
    announce = next(r.json for r in remote.received if r.json["type"] == "Announce")
    assert announce["object"] == note_id
    # Both are in the actors' outboxes.
    outbox = (await node.client.get("/@greet/outbox?page=1")).json()
    assert [a["type"] for a in outbox["orderedItems"]] == ["Create"]
    group_outbox = (await node.client.get("/n/jette-centre/outbox?page=1")).json()
    assert [a["type"] for a in group_outbox["orderedItems"]] == ["Announce"]


async def test_status_change_is_an_update_and_withdrawal_a_delete(
    node: Node, remote: FakeRemote
) -> None:
    hood, greet = await followed_setup(node, remote)
    post = await factories.post(greet, hood)
    await node.work()
    remote.received.clear()
    await posts.change_status(greet, post, "done")
    await node.work()
    update = next(r.json for r in remote.received if r.json["type"] == "Update")
    assert update["object"]["publishes"]["finished"] is True
    assert update["object"]["content"].startswith("<p><strong>Gelukt, bedankt!")
    boosted = next(r.json for r in remote.received if r.json["type"] == "Announce")
    assert boosted["object"]["type"] == "Update"

    remote.received.clear()
    await posts.change_status(greet, post, "open")
    await posts.change_status(greet, post, "withdrawn")
    await node.work()
    deletes = [r.json for r in remote.received if r.json["type"] == "Delete"]
    assert deletes and deletes[0]["object"]["type"] == "Tombstone"


async def test_followers_only_goes_to_followers_and_is_not_announced(
    node: Node, remote: FakeRemote
) -> None:
    hood, greet = await followed_setup(node, remote)
    await factories.post(greet, hood, visibility="followers")
    await factories.post(greet, hood, visibility="members", title="Alleen voor leden")
    await node.work()
    assert [(kind, actor) for kind, actor, _ in received(remote)] == [("Create", f"{BASE}/@greet")]
    create = remote.received[0].json
    assert create["to"] == [f"{BASE}/@greet/followers"] and create["cc"] == []
    assert (await node.client.get("/@greet/outbox")).json()["totalItems"] == 0


async def test_deleting_cancels_what_was_not_sent(node: Node, remote: FakeRemote) -> None:
    hood, greet = await followed_setup(node, remote)
    remote.inbox_status = 503  # the follower's server is down
    post = await factories.post(greet, hood)
    await node.work()
    pending = await Delivery.filter(status=DeliveryStatus.PENDING).count()
    assert pending == 2  # the Create and the Announce wait for a retry
    await posts.change_status(greet, post, "withdrawn")
    await node.work()
    about_post = await OutboxActivity.filter(object_uri=f"{BASE}/r/{post.id}").values_list(
        "activity_type", flat=True
    )
    assert sorted(about_post) == ["Announce", "Announce", "Create", "Delete"]
    statuses = {
        (d.activity.activity_type, d.status)
        for d in await Delivery.all().prefetch_related("activity")
        if d.activity.object_uri
    }
    assert ("Create", DeliveryStatus.CANCELLED) in statuses
    assert ("Delete", DeliveryStatus.PENDING) in statuses  # the Delete still goes out


async def test_blocking_a_domain_cancels_its_pending_deliveries(
    node: Node, remote: FakeRemote
) -> None:
    hood, greet = await followed_setup(node, remote)
    remote.inbox_status = 503
    await factories.post(greet, hood)
    await node.work()
    assert await Delivery.filter(status=DeliveryStatus.PENDING).count() == 2
    await moderation.set_domain_policy(remote.base.split("//")[1], DomainPolicy.SUSPEND)
    assert await Delivery.filter(status=DeliveryStatus.PENDING).count() == 0
    assert await Delivery.filter(status=DeliveryStatus.CANCELLED).count() == 2


async def test_relay_subscription_and_public_posts_to_the_relay(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    remote.add_actor("relay", 2)
    await remote_follows.request_follow(None, remote.actor_url("relay"), is_relay=True)
    await node.work()
    follow = remote.received[-1].json
    assert follow["type"] == "Follow" and follow["object"] == PUBLIC
    await node.post_activity(remote, "relay", remote.activity("relay", "Accept", follow))
    await node.work()
    remote.received.clear()
    await factories.post(greet, hood)
    await factories.post(greet, hood, visibility="followers", title="Niet voor de relay")
    await node.work()
    creates = [r.json for r in remote.received if r.json["type"] == "Create"]
    assert len(creates) == 1 and creates[0]["object"]["to"] == [PUBLIC]
    assert remote.received[0].path == "/users/relay/inbox"


async def test_nodes_following_the_node_itself_get_public_posts(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    await node.post_activity(remote, "alice", remote.activity("alice", "Follow", f"{BASE}/actor"))
    await node.work()
    remote.received.clear()
    post = await factories.post(greet, hood)
    await factories.post(greet, hood, visibility="followers")
    await node.work()
    assert received(remote) == [("Announce", f"{BASE}/actor", f"{BASE}/r/{post.id}")]


async def test_fep_1b12_peers_get_the_create_people_the_id(node: Node, remote: FakeRemote) -> None:
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    other = await FakeRemote().start()  # another node: its own host, an Application actor
    try:
        other.add_actor("node", 2, actor_type="Application")
        for server, name in ((remote, "alice"), (other, "node")):
            follow = server.activity(name, "Follow", f"{BASE}/n/jette-centre")
            await node.post_activity(server, name, follow)
        await node.work()
        remote.received.clear()
        other.received.clear()
        post = await factories.post(greet, hood)
        await node.work()
        [to_node] = [r.json for r in other.received if r.json["type"] == "Announce"]
        [to_people] = [r.json for r in remote.received if r.json["type"] == "Announce"]
    finally:
        await other.stop()
    assert to_node["object"]["type"] == "Create"
    assert to_node["object"]["object"]["id"] == f"{BASE}/r/{post.id}"
    assert to_people["object"] == f"{BASE}/r/{post.id}"
