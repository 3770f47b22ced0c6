"""A request's private conversation with helpers on other servers, end to end in one
process: messages go out as signed direct Notes to the accepted helpers alone, their
direct replies come back into the conversation, and nobody else gets or adds anything."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.handlers.conversation_replies import strip_our_mentions
from federation.signatures import verify_cavage
from node.config import Settings
from node.keys import load_public_key
from node.models import (
    ConversationMessage,
    Delivery,
    HelpPost,
    InboxItem,
    InboxStatus,
    Notification,
    NotificationKind,
    OutboxActivity,
    RemoteActor,
    Response,
)
from node.services import conversations
from node.services import responses as responses_service
from node.text import html_to_text, sanitise_html
from tests import factories
from tests.fakeremote import FakeRemote, Received
from tests.federation_fixtures import BASE, Node

AP = {"accept": "application/activity+json"}


@pytest.fixture
async def elsewhere() -> AsyncIterator[FakeRemote]:
    """A second remote server, with carol on it."""
    fake = await FakeRemote().start()
    fake.add_actor("carol", 2)
    try:
        yield fake
    finally:
        await fake.stop()


async def offer_by_reply(node: Node, remote: FakeRemote, name: str, post: HelpPost) -> Response:
    reply = remote.note(name, f"{BASE}/r/{post.id}", "<p>Ik help graag!</p>")
    await node.post_activity(remote, name, remote.activity(name, "Create", reply))
    await node.work()
    return await Response.get(object_uri=reply["id"])


async def accepted_helper(node: Node, remote: FakeRemote, name: str, post: HelpPost) -> Response:
    offer = await offer_by_reply(node, remote, name, post)
    await responses_service.accept_helper(await post.author, offer)
    await node.work()
    return offer


def creates(remote: FakeRemote) -> list[Received]:
    return [r for r in remote.received if r.json["type"] == "Create"]


def direct_note(remote: FakeRemote, name: str, in_reply_to: str, text: str) -> dict[str, Any]:
    """A direct reply as Mastodon sends it: to the request's actor alone, mentioning it."""
    greet = f"{BASE}/@greet"
    mention = (
        f'<span class="h-card" translate="no"><a href="{greet}" class="u-url mention">'
        f"@<span>greet</span></a></span>"
    )
    return remote.note(
        name,
        in_reply_to,
        f"<p>{mention} {text}</p>",
        to=[greet],
        cc=[],
        tag=[{"type": "Mention", "href": greet, "name": "@greet@nabuur.test"}],
    )


async def request(helpers_needed: int = 1) -> HelpPost:
    hood = await factories.neighbourhood("jette-centre")
    author = await factories.account("greet")
    return await factories.post(author, hood, helpers_needed=helpers_needed)


async def last_outcome() -> tuple[str, str]:
    item = await InboxItem.all().order_by("-id").first()
    assert item is not None
    return item.status, item.outcome


async def test_a_message_reaches_the_accepted_helper_alone_as_a_signed_direct_note(
    node: Node, remote: FakeRemote
) -> None:
    post = await request()
    alice = await accepted_helper(node, remote, "alice", post)
    # bob follows greet and offered help too (not accepted: the one place is taken).
    await node.post_activity(remote, "bob", remote.activity("bob", "Follow", f"{BASE}/@greet"))
    await offer_by_reply(node, remote, "bob", post)
    remote.received.clear()

    greet = await post.author
    message = await conversations.post_message(
        greet, post, "Zaterdag om 10 uur?\nZie https://example.org/kaart"
    )
    await node.work()
    [delivery] = creates(remote)
    assert delivery.path == "/users/alice/inbox"  # her own inbox, not the shared one
    create, note = delivery.json, delivery.json["object"]
    message_id = f"{BASE}/r/{post.id}/conversation/{message.id}"
    alice_url = remote.actor_url("alice")
    assert note["id"] == message_id and note["type"] == "Note"
    assert create["actor"] == note["attributedTo"] == f"{BASE}/@greet"
    assert create["to"] == note["to"] == [alice_url]
    assert create["cc"] == note["cc"] == []
    assert note["tag"] == [
        {"type": "Mention", "href": alice_url, "name": f"@alice@{alice_url.split('/')[2]}"}
    ]
    # The thread goes on from the message that told alice she was accepted.
    assert note["inReplyTo"] == f"{BASE}/r/{post.id}/responses/{alice.id}#accepted"
    assert note["published"] and note["contentMap"]["nl"] == note["content"]
    assert note["content"].startswith('<p><span class="h-card"><a href="')
    assert "Zaterdag om 10 uur?<br>Zie " in note["content"]
    assert '<a href="https://example.org/kaart" rel="nofollow ugc noopener">' in note["content"]
    # Signed by greet's own key.
    actor_doc = (await node.client.get("/@greet", headers=AP)).json()
    assert delivery.headers["signature"].startswith(f'keyId="{BASE}/@greet#main-key"')
    verify_cavage(
        method="POST",
        target=delivery.path,
        headers=delivery.headers,
        body=delivery.body,
        public_key=load_public_key(actor_doc["publicKey"]["publicKeyPem"]),
    )
    # Nowhere else: not to bob (who follows greet and offered), not to any shared inbox.
    assert [r.path for r in remote.received] == ["/users/alice/inbox"]
    stored = await OutboxActivity.get(object_uri=message_id)
    inboxes = await Delivery.filter(activity=stored).values_list("inbox", flat=True)
    assert inboxes == [remote.actor_url("alice") + "/inbox"]
    # Never listed, never served.
    assert stored.public is False
    outbox = (await node.client.get("/@greet/outbox", headers=AP)).json()
    assert outbox["totalItems"] == 0 or message_id not in str(outbox)
    for headers in (AP, {"accept": "text/html"}):
        page = await node.client.get(f"/r/{post.id}/conversation/{message.id}", headers=headers)
        assert page.status_code == 404

    # The next message answers the previous one.
    remote.received.clear()
    await conversations.post_message(greet, post, "Of liever om 11 uur?")
    await node.work()
    [second] = creates(remote)
    assert second.json["object"]["inReplyTo"] == message_id


async def test_the_helpers_direct_reply_joins_the_conversation_and_notifies_the_author(
    node: Node, remote: FakeRemote
) -> None:
    post = await request()
    await accepted_helper(node, remote, "alice", post)
    greet = await post.author
    message = await conversations.post_message(greet, post, "Zaterdag om 10 uur?")
    await node.work()
    message_id = f"{BASE}/r/{post.id}/conversation/{message.id}"

    reply = direct_note(remote, "alice", message_id, "Prima, <script>x()</script>tot dan!")
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", reply))
    await node.work()
    assert await last_outcome() == (InboxStatus.PROCESSED, "conversation message stored")
    stored = await ConversationMessage.get(object_uri=reply["id"]).prefetch_related("remote_author")
    assert stored.remote_author.uri == remote.actor_url("alice") and stored.post_id == post.id
    # Sanitised, without the mention of greet it started with.
    assert stored.body_html == "<p>Prima, tot dan!</p>"
    assert await Notification.filter(
        recipient=greet, kind=NotificationKind.MESSAGE, message=stored
    ).exists()
    # It is no public response.
    assert await Response.filter(object_uri=reply["id"]).count() == 0
    # Delivered twice, stored once.
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", reply))
    await node.work()
    assert await ConversationMessage.filter(post=post).count() == 2

    # A direct answer to the "accepted" message, or to the request's Note, is one too.
    for target in (
        f"{BASE}/r/{post.id}/responses/{(await Response.get(post=post)).id}#accepted",
        f"{BASE}/r/{post.id}",
    ):
        again = direct_note(remote, "alice", target, "Nog een vraag")
        await node.post_activity(remote, "alice", remote.activity("alice", "Create", again))
        await node.work()
        assert await ConversationMessage.exists(object_uri=again["id"])
    assert await Response.filter(post=post).count() == 1  # alice's offer only


async def test_a_helper_deleting_their_direct_reply_removes_it_here(
    node: Node, remote: FakeRemote
) -> None:
    """Mastodon's "delete" of a private mention reaches us as Delete: the message goes
    (with its notifications); someone else's Delete of it changes nothing."""
    post = await request()
    await accepted_helper(node, remote, "alice", post)
    reply = direct_note(remote, "alice", f"{BASE}/r/{post.id}", "Mijn nummer is 0470 12 34 56")
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", reply))
    await node.work()
    stored = await ConversationMessage.get(object_uri=reply["id"])
    assert await Notification.filter(message=stored).exists()

    await node.post_activity(remote, "bob", remote.activity("bob", "Delete", reply["id"]))
    await node.work()
    assert await ConversationMessage.exists(object_uri=reply["id"])  # not bob's to delete

    await node.post_activity(remote, "alice", remote.activity("alice", "Delete", reply["id"]))
    await node.work()
    assert await last_outcome() == (InboxStatus.PROCESSED, "reply removed")
    assert not await ConversationMessage.exists(object_uri=reply["id"])
    assert not await Notification.filter(kind=NotificationKind.MESSAGE).exists()


async def test_a_strangers_direct_note_is_stored_nowhere(node: Node, remote: FakeRemote) -> None:
    post = await request()
    await accepted_helper(node, remote, "alice", post)
    greet = await post.author
    message = await conversations.post_message(greet, post, "Zaterdag om 10 uur?")
    await node.work()
    responses_before = await Response.filter(post=post).count()

    targets = [
        f"{BASE}/r/{post.id}/conversation/{message.id}",
        f"{BASE}/r/{post.id}",
        f"{BASE}/r/{post.id}#replies",  # the request's page all the same
    ]
    for target in targets:
        note = direct_note(remote, "bob", target, "Mag ik meelezen?")
        await node.post_activity(remote, "bob", remote.activity("bob", "Create", note))
        await node.work()
        assert await last_outcome() == (
            InboxStatus.IGNORED,
            "a private message from someone who is not in the conversation",
        )
        assert not await ConversationMessage.exists(object_uri=note["id"])
        assert not await Response.exists(object_uri=note["id"])
    assert await Response.filter(post=post).count() == responses_before
    page = await node.client.get(f"/r/{post.id}")
    assert "Mag ik meelezen?" not in page.text
    # A public reply still is a response, as before.
    public = remote.note("bob", f"{BASE}/r/{post.id}", "<p>Mooi initiatief!</p>")
    await node.post_activity(remote, "bob", remote.activity("bob", "Create", public))
    await node.work()
    assert await Response.exists(object_uri=public["id"])


async def test_other_remote_helpers_get_a_helpers_message_but_not_its_writer(
    node: Node, remote: FakeRemote, elsewhere: FakeRemote
) -> None:
    post = await request(helpers_needed=4)
    for name in ("alice", "bob"):
        await accepted_helper(node, remote, name, post)
    await accepted_helper(node, elsewhere, "carol", post)
    remote.received.clear()
    elsewhere.received.clear()
    greet = await post.author
    message = await conversations.post_message(greet, post, "Wie brengt een ladder mee?")
    await node.work()
    message_id = f"{BASE}/r/{post.id}/conversation/{message.id}"
    # One Note per server: alice and bob share one, carol gets her own.
    [both] = {tuple(r.json["object"]["to"]) for r in creates(remote)}
    assert both == (remote.actor_url("alice"), remote.actor_url("bob"))
    assert {r.path for r in creates(remote)} == {"/users/alice/inbox", "/users/bob/inbox"}
    [to_carol] = creates(elsewhere)
    assert to_carol.json["object"]["to"] == [elsewhere.actor_url("carol")]
    assert to_carol.json["object"]["inReplyTo"].endswith("#accepted")
    # A Note to several helpers answers the request's Note (each had her own "accepted").
    assert {r.json["object"]["inReplyTo"] for r in creates(remote)} == {f"{BASE}/r/{post.id}"}
    remote.received.clear()
    elsewhere.received.clear()

    reply = direct_note(remote, "alice", message_id, "Ik breng er een mee.")
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", reply))
    await node.work()
    stored = await ConversationMessage.get(object_uri=reply["id"])
    [to_bob] = creates(remote)
    note = to_bob.json["object"]
    assert to_bob.path == "/users/bob/inbox" and note["to"] == [remote.actor_url("bob")]
    assert note["id"] == f"{BASE}/r/{post.id}/conversation/{stored.id}"
    assert note["attributedTo"] == f"{BASE}/@greet"
    # In the request's language (Dutch): "%(name)s wrote:".
    assert "Alice schreef:" in note["content"] and "Ik breng er een mee." in note["content"]
    [carol_copy] = creates(elsewhere)
    assert carol_copy.json["object"]["inReplyTo"] == message_id
    # A local helper's message names its writer too; alice's server knows her Note's id.
    jan = await factories.account("jan")
    await responses_service.accept_helper(greet, await factories.offer(post, jan))
    remote.received.clear()
    await conversations.post_message(jan, post, "Ik kom ook.")
    await node.work()
    [from_jan] = {orjson.dumps(r.json["object"]) for r in creates(remote)}  # one Note, 2 inboxes
    assert "Jan schreef:" in orjson.loads(from_jan)["content"]
    assert orjson.loads(from_jan)["inReplyTo"] == reply["id"]


async def test_an_organisations_request_speaks_as_the_organisation(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    staff = await factories.account("greet")
    org = await factories.organisation("buurthuis", staff=[staff])
    post = await factories.post(staff, hood, organisation=org.slug)
    await accepted_helper(node, remote, "alice", post)
    remote.received.clear()
    await conversations.post_message(staff, post, "Welkom!")
    await node.work()
    [delivery] = creates(remote)
    assert delivery.json["object"]["attributedTo"] == f"{BASE}/o/buurthuis"
    assert "schreef:" not in delivery.json["object"]["content"]
    assert delivery.headers["signature"].startswith(f'keyId="{BASE}/o/buurthuis#main-key"')


async def test_a_released_helper_hears_no_more_and_adds_nothing(
    node: Node, remote: FakeRemote
) -> None:
    post = await request()
    offer = await accepted_helper(node, remote, "alice", post)
    greet = await post.author
    message = await conversations.post_message(greet, post, "Zaterdag om 10 uur?")
    await node.work()
    await responses_service.decline_helper(greet, offer)
    await node.work()
    remote.received.clear()
    await conversations.post_message(greet, post, "Nog iemand?")
    await node.work()
    assert creates(remote) == []
    reply = direct_note(remote, "alice", f"{BASE}/r/{post.id}/conversation/{message.id}", "Jammer")
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", reply))
    await node.work()
    assert not await ConversationMessage.exists(object_uri=reply["id"])
    assert not await Response.exists(object_uri=reply["id"])


OURS = Settings(database_url="sqlite://:memory:", base_url=BASE)


@given(
    before=st.sampled_from(["", "  "]),
    href=st.sampled_from([f"{BASE}/@greet", f"{BASE}/o/buurthuis", "https://elsewhere.example/@x"]),
    text=st.text(max_size=40),
)
@settings(max_examples=200, deadline=None)
def test_taking_off_our_mention_leaves_sanitised_html(before: str, href: str, text: str) -> None:
    """Whatever follows the mention, what is stored is still HTML the sanitiser keeps as
    it is (no tag left open), and only mentions of our own actors are taken off."""
    came = sanitise_html(
        f'<p>{before}<span class="h-card"><a href="{href}" class="u-url mention">'
        f"@<span>greet</span></a></span> {html.escape(text)}</p>"
    )
    stored = strip_our_mentions(OURS, came)
    assert sanitise_html(stored) == stored
    words = html_to_text(sanitise_html(f"<p>{html.escape(text)}</p>"))
    if href.startswith(BASE) and words:
        assert href not in stored and html_to_text(stored) == words
    else:
        assert stored == came


async def test_a_followers_only_reply_counts_only_on_a_followers_only_request(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    public = await factories.post(greet, hood)
    restricted = await factories.post(greet, hood, visibility="followers")
    await node.post_activity(remote, "bob", remote.activity("bob", "Follow", f"{BASE}/@greet"))
    await node.work()
    followers = remote.actor_url("bob") + "/followers"
    # (The fake actor names no followers collection: as if its profile said so.)
    await RemoteActor.filter(uri=remote.actor_url("bob")).update(followers_url=followers)
    node.fed.actors_by_key.clear()
    node.fed.actors_by_uri.clear()
    for post, kept in ((restricted, True), (public, False)):
        note = remote.note(
            "bob", f"{BASE}/r/{post.id}", "<p>Ik help</p>", to=[followers], cc=[f"{BASE}/@greet"]
        )
        await node.post_activity(remote, "bob", remote.activity("bob", "Create", note))
        await node.work()
        # Seen by those who see the request anyway; never shown with a public one.
        assert await Response.exists(object_uri=note["id"]) is kept
