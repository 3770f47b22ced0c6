"""Publishing posts to followers elsewhere: Create, Update, Delete, and the group's Announce."""

from __future__ import annotations

from federation.vocab import PUBLIC
from node.models import Delivery, DeliveryStatus, DomainPolicy, OutboxActivity
from node.services import domain_policy, posts, remote_follows
from node.timeutil import utcnow
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
    """Changes come from the Note's author, once per shared inbox. (This test used to
    expect the group's Announce(Update) too: Mastodon drops that, so people's servers no
    longer get it.)"""
    hood, greet = await followed_setup(node, remote)
    post = await factories.post(greet, hood)
    await node.work()
    remote.received.clear()
    await posts.change_status(greet, post, "done")
    await node.work()
    [update] = [r.json for r in remote.received]
    assert (update["type"], update["actor"]) == ("Update", f"{BASE}/@greet")
    assert update["object"]["publishes"]["finished"] is True
    assert update["object"]["content"].startswith("<p><strong>Gelukt, bedankt!")
    assert remote.received[0].path == "/inbox"  # alice and bob share it: one delivery

    remote.received.clear()
    await posts.change_status(greet, post, "open")
    await posts.change_status(greet, post, "withdrawn")
    await node.work()
    deletes = [r.json for r in remote.received if r.json["type"] == "Delete"]
    assert [d["actor"] for d in deletes] == [f"{BASE}/@greet"]
    assert deletes[0]["object"]["type"] == "Tombstone"
    assert deletes[0]["object"]["id"] == f"{BASE}/r/{post.id}"
    assert not [r for r in remote.received if r.json["type"] == "Announce"]


async def test_people_following_only_the_group_get_the_authors_changes(
    node: Node, remote: FakeRemote
) -> None:
    """Mastodon applies Update and Delete only from the author: a person who follows
    the neighbourhood alone gets them from the author, never as the group's Announce."""
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    follow = remote.activity("bob", "Follow", f"{BASE}/n/jette-centre")
    await node.post_activity(remote, "bob", follow)
    await node.work()
    remote.received.clear()
    post = await factories.post(greet, hood)
    await node.work()
    assert received(remote) == [("Announce", f"{BASE}/n/jette-centre", f"{BASE}/r/{post.id}")]
    remote.received.clear()
    await posts.change_status(greet, post, "matched")
    await node.work()
    [update] = [r.json for r in remote.received]
    assert (update["type"], update["actor"]) == ("Update", f"{BASE}/@greet")
    assert update["object"]["id"] == f"{BASE}/r/{post.id}"
    assert update["object"]["attributedTo"] == f"{BASE}/@greet"
    assert update["object"]["publishes"]["availableQuantity"]["hasNumericalValue"] == "0"

    # bob unfollows the group; his server still holds the post, so it gets the Delete.
    undo = remote.activity("bob", "Undo", follow)
    await node.post_activity(remote, "bob", undo)
    await node.work()
    remote.received.clear()
    await posts.change_status(greet, post, "withdrawn")
    await node.work()
    [(kind, actor, tombstone)] = received(remote)
    assert (kind, actor) == ("Delete", f"{BASE}/@greet")
    assert tombstone["id"] == f"{BASE}/r/{post.id}"  # type: ignore[index]


async def test_a_silenced_authors_posts_are_not_shared(node: Node, remote: FakeRemote) -> None:
    hood, greet = await followed_setup(node, remote)
    greet.silenced_at = utcnow()
    await greet.save(update_fields=["silenced_at"])
    await factories.post(greet, hood)
    await node.work()
    assert [(kind, actor) for kind, actor, _ in received(remote)] == [("Create", f"{BASE}/@greet")]


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
    # The boost of the Note, the Create, and the author's Delete (people's servers get no
    # Announce of the Delete: Mastodon would drop it).
    assert sorted(about_post) == ["Announce", "Create", "Delete"]
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
    await domain_policy.set_domain_policy(remote.base.split("//")[1], DomainPolicy.SUSPEND)
    assert await Delivery.filter(status=DeliveryStatus.PENDING).count() == 0
    assert await Delivery.filter(status=DeliveryStatus.CANCELLED).count() == 2


async def test_a_suspended_or_unlisted_server_gets_nothing_new(
    node: Node, remote: FakeRemote
) -> None:
    """Followers there keep their rows (a suspension can be lifted), but no new post,
    change or Delete goes to them: nothing out, as Mastodon's suspend."""
    hood, greet = await followed_setup(node, remote)
    host = remote.base.split("//")[1]
    await domain_policy.set_domain_policy(host, DomainPolicy.SUSPEND)
    await factories.post(greet, hood)
    await node.work()
    creates = Delivery.filter(activity__activity_type__in=["Create", "Announce"])
    assert remote.received == [] and not await creates.exists()
    await domain_policy.remove_domain_policy(host)
    await domain_policy.set_federation_mode(node.fed.settings, "allowlist")
    await factories.post(greet, hood, title="Alleen voor partners")
    await node.work()
    assert remote.received == [] and not await creates.exists()  # not on the allowlist


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
        remote.received.clear()
        other.received.clear()
        await posts.change_status(greet, post, "matched")
        await node.work()
        node_got = [(r.json["type"], r.json["actor"]) for r in other.received]
        people_got = [(r.json["type"], r.json["actor"]) for r in remote.received]
        [announced_update] = [r.json for r in other.received]
    finally:
        await other.stop()
    assert to_node["object"]["type"] == "Create"
    assert to_node["object"]["object"]["id"] == f"{BASE}/r/{post.id}"
    assert to_people["object"] == f"{BASE}/r/{post.id}"
    # FEP-1b12: the group shares the change with the peer; people get it from the author.
    assert node_got == [("Announce", f"{BASE}/n/jette-centre")]
    assert announced_update["object"]["type"] == "Update"
    assert announced_update["object"]["actor"] == f"{BASE}/@greet"
    assert people_got == [("Update", f"{BASE}/@greet")]
