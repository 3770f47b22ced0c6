"""Each activity type, end to end in one process: inbox, worker, services, deliveries."""

from __future__ import annotations

import orjson
import pytest

from federation import handlers
from federation.signatures import verify_cavage
from federation.worker import process_inbox_once
from node.keys import load_public_key
from node.models import (
    Delivery,
    DeliveryStatus,
    Follow,
    InboxItem,
    InboxStatus,
    Notification,
    OutgoingFollow,
    Reaction,
    RemoteActor,
    RemoteStanding,
    Report,
    Response,
)
from node.services import remote_follows
from node.services import responses as responses_service
from node.states import FollowStatus
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node


async def hood_and_post(visibility: str = "public"):
    hood = await factories.neighbourhood("jette-centre")
    author = await factories.account("greet")
    post = await factories.post(author, hood, visibility=visibility)
    return hood, author, post


async def outcome() -> tuple[str, str]:
    item = await InboxItem.all().order_by("-id").first()
    assert item is not None
    return item.status, item.outcome


async def test_follow_gets_a_signed_accept(node: Node, remote: FakeRemote) -> None:
    hood = await factories.neighbourhood("jette-centre")
    follow = remote.activity("alice", "Follow", f"{BASE}/n/jette-centre")
    assert (await node.post_activity(remote, "alice", follow)).status_code == 202
    await node.work()

    row = await Follow.get(follower_remote__uri=remote.actor_url("alice"))
    assert row.status == FollowStatus.ACCEPTED and row.neighbourhood_id == hood.id
    [delivery] = remote.received
    accept = delivery.json
    assert accept["type"] == "Accept"
    assert accept["actor"] == f"{BASE}/n/jette-centre"
    assert accept["object"]["id"] == follow["id"]
    # The Accept is signed with the neighbourhood's own key, which its actor publishes.
    actor_doc = (
        await node.client.get("/n/jette-centre", headers={"accept": "application/activity+json"})
    ).json()
    assert delivery.headers["signature"].startswith(f'keyId="{BASE}/n/jette-centre#main-key"')
    verify_cavage(
        method="POST",
        target=delivery.path,
        headers=delivery.headers,
        body=delivery.body,
        public_key=load_public_key(actor_doc["publicKey"]["publicKeyPem"]),
    )


async def test_follow_of_a_locked_account_waits_for_approval(
    node: Node, remote: FakeRemote
) -> None:
    greet = await factories.account("greet")
    greet.manually_approves_followers = True
    await greet.save()
    follow = remote.activity("alice", "Follow", f"{BASE}/@greet")
    await node.post_activity(remote, "alice", follow)
    await node.work()
    row = await Follow.get(account=greet)
    assert row.status == FollowStatus.PENDING
    assert remote.received == []  # no answer until greet decides
    followers = await node.client.get("/@greet/followers")
    assert followers.json()["totalItems"] == 0 and "first" not in followers.json()

    await remote_follows.decide_remote_follow(row, accept=True)
    await node.work()
    [delivery] = remote.received
    assert delivery.json["type"] == "Accept"
    assert delivery.json["object"]["id"] == follow["id"]


async def test_undo_follow_removes_it(node: Node, remote: FakeRemote) -> None:
    await hood_and_post()
    follow = remote.activity("alice", "Follow", f"{BASE}/n/jette-centre")
    await node.post_activity(remote, "alice", follow)
    await node.work()
    undo = remote.activity("alice", "Undo", follow)
    await node.post_activity(remote, "alice", undo)
    await node.work()
    assert await Follow.filter(follower_remote__uri=remote.actor_url("alice")).count() == 0
    assert await outcome() == (InboxStatus.PROCESSED, "unfollowed")


async def test_reply_becomes_a_sanitised_response_and_notifies(
    node: Node, remote: FakeRemote
) -> None:
    _, author, post = await hood_and_post()
    note = remote.note(
        "alice",
        f"{BASE}/r/{post.id}",
        '<p>I can help on Saturday!</p><script>alert(1)</script><a href="javascript:x">x</a>',
    )
    create = remote.activity("alice", "Create", note)
    await node.post_activity(remote, "alice", create)
    await node.work()
    response = await Response.get(post=post).prefetch_related("remote_author")
    assert response.remote_author.uri == remote.actor_url("alice")
    assert response.object_uri == note["id"]
    assert "<script>" not in response.body_html and "javascript:" not in response.body_html
    assert "I can help on Saturday!" in response.body
    assert await Notification.filter(recipient=author, response=response).exists()


async def test_reply_to_a_followers_only_post_needs_an_accepted_follow(
    node: Node, remote: FakeRemote
) -> None:
    _, _, post = await hood_and_post(visibility="followers")
    create = remote.activity("alice", "Create", remote.note("alice", f"{BASE}/r/{post.id}", "hi"))
    await node.post_activity(remote, "alice", create)
    await node.work()
    assert await Response.all().count() == 0
    assert (await outcome())[0] == InboxStatus.REJECTED
    # An accepted follower of the author saw the post in their timeline and answers it.
    await node.post_activity(remote, "alice", remote.activity("alice", "Follow", f"{BASE}/@greet"))
    again = remote.activity("alice", "Create", remote.note("alice", f"{BASE}/r/{post.id}", "hi"))
    await node.post_activity(remote, "alice", again)
    await node.work()
    assert await Response.filter(post=post).count() == 1


async def test_note_attributed_to_someone_else_is_rejected(node: Node, remote: FakeRemote) -> None:
    _, _, post = await hood_and_post()
    note = remote.note("alice", f"{BASE}/r/{post.id}", "hi", attributedTo=remote.actor_url("bob"))
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", note))
    await node.work()
    assert await Response.all().count() == 0
    assert await outcome() == (InboxStatus.REJECTED, "attributedTo is not the actor")


async def test_update_and_delete_only_by_the_owner(node: Node, remote: FakeRemote) -> None:
    _, _, post = await hood_and_post()
    note = remote.note("alice", f"{BASE}/r/{post.id}", "<p>first</p>")
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", note))
    await node.work()

    # Bob cannot edit or delete alice's reply.
    forged = {**note, "attributedTo": remote.actor_url("bob"), "content": "<p>bob was here</p>"}
    await node.post_activity(remote, "bob", remote.activity("bob", "Update", forged))
    await node.post_activity(remote, "bob", remote.activity("bob", "Delete", note["id"]))
    await node.work()
    reply = await Response.get(object_uri=note["id"])
    assert reply.body == "first"

    edited = {**note, "content": "<p>second</p>"}
    await node.post_activity(remote, "alice", remote.activity("alice", "Update", edited))
    await node.work()
    await reply.refresh_from_db()
    assert reply.body == "second"

    tombstone = {"id": note["id"], "type": "Tombstone"}
    await node.post_activity(remote, "alice", remote.activity("alice", "Delete", tombstone))
    await node.work()
    assert not await Response.exists(object_uri=note["id"])


async def test_delete_of_the_actor_removes_its_content(node: Node, remote: FakeRemote) -> None:
    _, _, post = await hood_and_post()
    note = remote.note("alice", f"{BASE}/r/{post.id}", "hello")
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", note))
    await node.post_activity(remote, "alice", remote.activity("alice", "Follow", f"{BASE}/actor"))
    await node.work()
    await node.post_activity(
        remote, "alice", remote.activity("alice", "Delete", remote.actor_url("alice"))
    )
    await node.work()
    assert not await RemoteActor.exists(uri=remote.actor_url("alice"))
    assert await Response.all().count() == 0
    assert await Follow.filter(follower_remote_id__not_isnull=True).count() == 0


async def test_like_is_counted_and_undone(node: Node, remote: FakeRemote) -> None:
    _, _, post = await hood_and_post()
    like = remote.activity("alice", "Like", f"{BASE}/r/{post.id}")
    await node.post_activity(remote, "alice", like)
    await node.post_activity(
        remote, "bob", remote.activity("bob", "Announce", f"{BASE}/r/{post.id}")
    )
    await node.work()
    assert await Reaction.filter(post=post).count() == 2
    await node.post_activity(remote, "alice", remote.activity("alice", "Undo", like["id"]))
    await node.work()
    assert await Reaction.filter(post=post).count() == 1


async def test_flag_becomes_a_report(node: Node, remote: FakeRemote) -> None:
    _, _, post = await hood_and_post()
    flag = remote.activity(
        "alice", "Flag", [f"{BASE}/@greet", f"{BASE}/r/{post.id}"], content="spam <b>!</b>"
    )
    await node.post_activity(remote, "alice", flag)
    await node.work()
    report = await Report.get()
    assert report.object_uris == [f"{BASE}/@greet", f"{BASE}/r/{post.id}"]
    assert report.comment == "spam <b>!</b>"  # kept as plain text, escaped when shown


async def test_accept_must_answer_a_follow_we_sent(node: Node, remote: FakeRemote) -> None:
    stray = remote.activity("alice", "Accept", f"{BASE}/activities/123")
    await node.post_activity(remote, "alice", stray)
    await node.work()
    assert (await outcome())[0] == InboxStatus.REJECTED

    await remote_follows.request_follow(None, remote.actor_url("bob"))
    await node.work()
    sent = remote.received[-1].json
    assert sent["type"] == "Follow" and sent["object"] == remote.actor_url("bob")
    # Alice cannot accept a follow we sent to bob.
    await node.post_activity(remote, "alice", remote.activity("alice", "Accept", sent))
    await node.work()
    assert (await OutgoingFollow.get()).status == FollowStatus.PENDING
    await node.post_activity(remote, "bob", remote.activity("bob", "Accept", sent))
    await node.work()
    assert (await OutgoingFollow.get()).status == FollowStatus.ACCEPTED
    following = await node.client.get("/actor/following?page=1")
    assert following.json()["orderedItems"] == [remote.actor_url("bob")]


async def test_failed_delivery_is_retried_later(node: Node, remote: FakeRemote) -> None:
    await factories.neighbourhood("jette-centre")
    remote.inbox_status = 503
    await node.post_activity(
        remote, "alice", remote.activity("alice", "Follow", f"{BASE}/n/jette-centre")
    )
    await node.work()
    delivery = await Delivery.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.next_attempt_at > delivery.created_at
    assert len(remote.received) == 1


async def test_stored_payload_is_the_activity(node: Node, remote: FakeRemote) -> None:
    follow = remote.activity("alice", "Follow", f"{BASE}/actor")
    await node.post_activity(remote, "alice", follow)
    item = await InboxItem.get()
    assert orjson.loads(orjson.dumps(item.payload)) == follow


async def test_a_failing_item_does_not_undo_its_batch(
    node: Node, remote: FakeRemote, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items share a transaction; one that raises is retried later, the others stand."""

    async def explode(incoming: handlers.Incoming) -> handlers.Outcome:
        raise RuntimeError("handler bug")

    monkeypatch.setitem(handlers.HANDLERS, ("Explode", None), explode)
    await hood_and_post()
    good = remote.activity("alice", "Follow", f"{BASE}/n/jette-centre")
    bad = remote.activity("bob", "Explode", f"{BASE}/n/jette-centre")
    also_good = remote.activity("bob", "Follow", f"{BASE}/n/jette-centre")
    for name, activity in (("alice", good), ("bob", bad), ("bob", also_good)):
        assert (await node.post_activity(remote, name, activity)).status_code == 202
    await process_inbox_once(node.fed)
    statuses = {i.activity_id: (i.status, i.attempts) for i in await InboxItem.all()}
    assert statuses[good["id"]] == (InboxStatus.PROCESSED, 1)
    assert statuses[also_good["id"]] == (InboxStatus.PROCESSED, 1)
    assert statuses[bad["id"]] == (InboxStatus.RETRY, 1)
    assert await Follow.filter(follower_remote_id__not_isnull=True).count() == 2


async def test_accepting_a_remote_helper_sends_a_direct_message(
    node: Node, remote: FakeRemote
) -> None:
    _, author, post = await hood_and_post()
    reply = remote.note("alice", f"{BASE}/r/{post.id}", "<p>Ik help graag!</p>")
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", reply))
    await node.work()
    offer = await Response.get(object_uri=reply["id"])
    assert offer.kind == "offer" and offer.offer_status == "offered"
    remote.received.clear()

    await responses_service.accept_helper(author, offer)
    await node.work()
    [message] = [r.json for r in remote.received if r.json["type"] == "Create"]
    note = message["object"]
    assert message["to"] == [remote.actor_url("alice")] and message["cc"] == []
    assert note["to"] == [remote.actor_url("alice")] and note["inReplyTo"] == reply["id"]
    assert note["tag"][0]["type"] == "Mention"
    assert "Bedankt! Je aanbod om te helpen" in note["content"]  # the post's language
    assert "Sofa naar het containerpark" in note["content"]
    # The post had one place: it is matched now, and followers hear of it.
    assert (
        await node.client.get(f"/r/{post.id}", headers={"accept": "application/activity+json"})
    ).json()["publishes"]["availableQuantity"]["hasNumericalValue"] == "0"


async def test_a_suspended_account_is_dropped_before_any_handler(
    node: Node, remote: FakeRemote
) -> None:
    _, _, post = await hood_and_post()
    like = remote.activity("alice", "Like", f"{BASE}/r/{post.id}")
    await node.post_activity(remote, "alice", like)
    await node.work()
    assert await Reaction.filter(post=post).count() == 1
    # Moderators suspend alice; the worker's cached actor still says otherwise.
    await RemoteActor.filter(uri=remote.actor_url("alice")).update(
        standing=RemoteStanding.SUSPENDED
    )
    reply = remote.note("alice", f"{BASE}/r/{post.id}", "<p>spam</p>")
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", reply))
    await node.post_activity(remote, "alice", remote.activity("alice", "Undo", like["id"]))
    await node.work()
    latest = await InboxItem.all().order_by("-id").limit(2)
    assert {(i.status, i.outcome) for i in latest} == {
        (InboxStatus.REJECTED, "actor suspended here")
    }
    assert await Response.all().count() == 0
    assert await Reaction.filter(post=post).count() == 1  # nothing it sends is applied


async def test_a_limited_account_is_still_heard(node: Node, remote: FakeRemote) -> None:
    _, _, post = await hood_and_post()
    await node.post_activity(remote, "bob", remote.activity("bob", "Follow", f"{BASE}/actor"))
    await node.work()
    await RemoteActor.filter(uri=remote.actor_url("bob")).update(standing=RemoteStanding.LIMITED)
    reply = remote.note("bob", f"{BASE}/r/{post.id}", "<p>I can help</p>")
    await node.post_activity(remote, "bob", remote.activity("bob", "Create", reply))
    await node.work()
    assert await outcome() == (InboxStatus.PROCESSED, "reply stored as a response")


@pytest.mark.parametrize(
    ("activity_type", "obj", "expected"),
    [
        # Mastodon sends a Delete of every status to everyone who knows its author.
        (
            "Delete",
            {"id": "{remote}/notes/unknown", "type": "Tombstone"},
            ("ignored", "nothing of this actor to delete"),
        ),
        (
            "Delete",
            "https://elsewhere.example/notes/1",
            ("rejected", "object is not on the actor's host"),
        ),
        ("Delete", {"type": "Tombstone"}, ("rejected", "Delete of nothing")),
        ("Undo", {"type": "Block"}, ("rejected", "Undo of nothing")),
        ("Undo", "{remote}/activities/unknown", ("ignored", "nothing of this actor to undo")),
        ("Update", "{remote}/notes/unknown", ("ignored", "Update of other is not supported")),
        (
            "Create",
            {"id": "{remote}/things/1", "type": "Dance"},
            ("ignored", "Create of other is not supported"),
        ),
        (
            "Offer",
            {"id": "{remote}/things/1", "type": "Dance"},
            ("ignored", "Offer of other is not supported"),
        ),
        (
            "Accept",
            {"id": "{remote}/things/1", "type": "Offer"},
            ("ignored", "Accept of other is not supported"),
        ),
    ],
)
async def test_objects_of_no_known_family(
    node: Node, remote: FakeRemote, activity_type: str, obj: object, expected: tuple[str, str]
) -> None:
    def fill(value: object) -> object:
        if isinstance(value, str):
            return value.replace("{remote}", remote.base)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    activity = remote.activity("alice", activity_type, fill(obj))
    assert (await node.post_activity(remote, "alice", activity)).status_code == 202
    await node.work()
    assert await outcome() == expected


def test_handlers_are_registered_by_type_and_family() -> None:
    family = handlers.Family
    assert handlers.handler_for("Update", family.ACTOR) is handlers.actors.update_actor
    assert handlers.handler_for("Update", family.NOTE) is handlers.notes.update
    assert handlers.handler_for("Update", family.POST) is handlers.posts.update
    assert handlers.handler_for("Update", family.OTHER) is None
    # A handler for any object answers every family.
    assert handlers.handler_for("Like", family.NOTE) is handlers.reactions.like
    with pytest.raises(RuntimeError, match="two handlers"):
        handlers.handles("Update", objects=family.ACTOR)(handlers.actors.update_actor)
    with pytest.raises(ValueError):
        handlers.handles("Update", objects="gadget")
