"""The private conversation of a request, on this node's pages.

The author (or an organisation's staff, who speak for it) and the accepted helpers write
to each other at /r/{id}/conversation; each message tells the other participants. For
everyone else the page is the 404 of an unknown request, on GET and on POST, and the
conversation shows nowhere: not on the post's page, its feeds, its Note, the outbox, a
partner organisation's dashboard; a message's own id URL is never served. A closed
request's conversation is read-only. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node import uris, validation
from node.errors import InvalidInput
from node.models import (
    Account,
    ConversationMessage,
    Event,
    HelpPost,
    Notification,
    NotificationKind,
    RemoteActor,
    Response,
    ResponseKind,
)
from node.services import casework, conversations, organisations, posts, responses, sanctions
from node.states import OfferStatus, PostStatus
from node.timeutil import utcnow
from tests import factories
from tests.federation_fixtures import Node
from tests.webclient import Browser, browser

SECRET = "Sleutel ligt onder de bloempot bij nummer 14"
AP = {"accept": "application/activity+json"}
TOKEN = re.compile(r'name="csrf_token" value="[^"]*"')


@dataclass
class Scene:
    post: HelpPost
    author: Account
    helper: Account
    offer: Response


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    async with browser(database) as b:
        yield b


async def accepted_helper(post: HelpPost, manager: Account, name: str) -> tuple[Account, Response]:
    helper = await factories.account(name, languages=["en"])
    offer = await factories.offer(post, helper)
    return helper, await responses.accept_helper(manager, offer)


@pytest.fixture
async def scene(database: str) -> Scene:
    author = await factories.account("amina", languages=["en"])
    hood = await factories.neighbourhood("kuregem")
    post = await factories.post(author, hood, title="Boodschappen doen", helpers_needed=3)
    helper, offer = await accepted_helper(post, author, "bram")
    return Scene(post, author, helper, offer)


async def write(web: Browser, post: HelpPost, body: str):
    path = uris.conversation(post.id)
    return await web.submit(path, {"body": body}, page=path)


async def test_author_and_helper_talk_and_each_hears_of_the_other(
    web: Browser, scene: Scene
) -> None:
    path = uris.conversation(scene.post.id)
    await web.log_in_as(scene.author)
    empty = await web.get(path)
    assert empty.status_code == 200
    assert empty.headers["cache-control"] == "private, no-store"
    assert '<label for="message_body">' in empty.text and 'maxlength="2000"' in empty.text
    assert "Only you and the accepted helpers can read this." in empty.text
    sent = await write(web, scene.post, "Kom om 10u, zie https://example.org/plan.")
    assert sent.status_code == 303
    assert sent.headers["location"].startswith(path + "?done=sent")

    await web.log_in_as(scene.helper)
    page = await web.get(path)
    assert page.status_code == 200 and page.headers["cache-control"] == "private, no-store"
    # The only helper: no "other accepted helpers" that are not there.
    assert "Only you and Amina can read this." in page.text
    assert "other accepted helpers" not in page.text
    assert "Only you and Amina can read this." in (await web.get(uris.post(scene.post.id))).text
    # Local text is escaped, its links clickable.
    assert '<a href="https://example.org/plan"' in page.text and "Amina" in page.text
    assert (await write(web, scene.post, "<b>Ok</b> & tot dan")).status_code == 303
    page = await web.get(path)
    assert "&lt;b&gt;Ok&lt;/b&gt; &amp; tot dan" in page.text and "<b>Ok</b>" not in page.text

    stored = await ConversationMessage.filter(post_id=scene.post.id).order_by("created_at")
    assert [(m.author_id, m.organisation_id) for m in stored] == [
        (scene.author.id, None),
        (scene.helper.id, None),
    ]
    told = await Notification.filter(kind=NotificationKind.MESSAGE).order_by("id")
    assert [(n.recipient_id, n.actor_id) for n in told] == [
        (scene.helper.id, scene.author.id),
        (scene.author.id, scene.helper.id),
    ]
    # The notification says who wrote and leads to the conversation.
    await web.log_in_as(scene.author)
    listing = await web.get("/notifications")
    assert "Bram wrote in the conversation about “Boodschappen doen”." in listing.text
    assert f'href="{path}"' in listing.text
    # The request's page shows participants the way in, with the count.
    post_page = await web.get(uris.post(scene.post.id))
    assert f'href="{path}"' in post_page.text and "2 messages" in post_page.text


async def test_staff_write_as_the_organisation(web: Browser, database: str) -> None:
    org = await factories.organisation("buurthuis")
    coordinator = await factories.coordinator_of(org, "karim")
    els = await factories.account("els", languages=["en"])
    await organisations.add_staff(org, els)
    hood = await factories.neighbourhood("jette-centre")
    post = await factories.post(
        els, hood, organisation="buurthuis", title="Naar de dokter", helpers_needed=2
    )
    helper, _offer = await accepted_helper(post, els, "tom")
    await web.log_in_as(coordinator)  # a colleague of the author
    assert (await write(web, post, "Wij bellen u morgen")).status_code == 303
    message = await ConversationMessage.get(post_id=post.id)
    assert message.author_id == coordinator.id and message.organisation_id == org.id
    await web.log_in_as(helper)
    page = await web.get(uris.conversation(post.id))
    assert "Buurthuis" in page.text and "Karim" not in page.text
    assert "Only you and Buurthuis can read this." in page.text
    await accepted_helper(post, els, "noor")  # a second helper: now there are others
    for path in (uris.conversation(post.id), uris.post(post.id)):
        page = await web.get(path)
        assert "Only you, Buurthuis and the other accepted helpers can read this." in page.text
    notes = await Notification.filter(kind=NotificationKind.MESSAGE, recipient_id=helper.id)
    assert [(n.organisation_id, n.actor_id) for n in notes] == [(org.id, coordinator.id)]
    listing = await web.get("/notifications")
    assert "Buurthuis wrote in the conversation about “Naar de dokter”." in listing.text
    assert "Karim" not in listing.text


async def outsiders(scene: Scene) -> dict[str, Account | None]:
    """Everyone who must not learn of the conversation, by what they are."""
    waiting = await factories.account("chloe")
    await factories.offer(scene.post, waiting)
    withdrawn = await factories.account("dirk")
    await responses.withdraw_offer(withdrawn, await factories.offer(scene.post, withdrawn))
    released, offer = await accepted_helper(scene.post, scene.author, "emma")
    await responses.decline_helper(scene.author, offer)
    return {
        "anonymous": None,
        "stranger": await factories.account("fien"),
        "not accepted": waiting,
        "withdrawn": withdrawn,
        "released": released,
        "moderator": await factories.moderator(),
        "admin": await factories.admin(),
    }


def same(html: str, post_id: str) -> str:
    """A page without what differs between two requests: the form token, the post id."""
    return TOKEN.sub("", html).replace(post_id, "ID")


async def test_nobody_else_learns_the_conversation_exists(web: Browser, scene: Scene) -> None:
    await conversations.post_message(scene.author, scene.post, SECRET)
    for what, account in (await outsiders(scene)).items():
        web.log_out_locally()
        if account is not None:
            await web.log_in_as(account)
        path = uris.conversation(scene.post.id)
        page = await web.get(path)
        assert page.status_code == 404, what
        # The very page an unknown request gets (but for its address and form token).
        nowhere = uuid.uuid4()
        unknown = await web.get(uris.conversation(nowhere))
        assert unknown.status_code == 404, what
        assert same(page.text, str(scene.post.id)) == same(unknown.text, str(nowhere)), what
        assert SECRET not in page.text and "Private conversation" not in page.text, what
        token = await web.token(uris.HOME)
        posted = await web.http.post(path, data={"body": "hallo", "csrf_token": token})
        assert posted.status_code == 404, what
        post_page = await web.get(uris.post(scene.post.id))
        assert post_page.status_code == 200, what
        assert path not in post_page.text and SECRET not in post_page.text, what
    assert await ConversationMessage.filter(post_id=scene.post.id).count() == 1


async def test_partner_staff_do_not_read_it(web: Browser, database: str) -> None:
    org = await factories.organisation("buurthuis")
    els = await factories.account("els")
    await organisations.add_staff(org, els)
    partner = await factories.organisation("andere-vzw")
    lien = await factories.coordinator_of(partner, "lien")
    hood = await factories.neighbourhood("jette-centre")
    post = await factories.post(els, hood, organisation="buurthuis")
    await casework.add_local_partner(post, partner, by=els)
    _helper, _ = await accepted_helper(post, els, "tom")
    await conversations.post_message(els, post, SECRET)
    await web.log_in_as(lien)
    assert (await web.get(uris.conversation(post.id))).status_code == 404
    for path in ("/admin/o/andere-vzw", f"/admin/o/andere-vzw/r/{post.id}", uris.post(post.id)):
        page = await web.get(path)
        assert page.status_code in (200, 404), path
        assert SECRET not in page.text and uris.conversation(post.id) not in page.text, path
    assert len(await Notification.filter(recipient_id=lien.id, kind=NotificationKind.MESSAGE)) == 0


async def test_the_conversation_is_in_no_feed_note_or_outbox(node: Node, database: str) -> None:
    author = await factories.account("amina")
    hood = await factories.neighbourhood("kuregem")
    post = await factories.post(author, hood)
    helper, _ = await accepted_helper(post, author, "bram")
    message = await conversations.post_message(helper, post, SECRET)
    await conversations.post_message(author, post, SECRET + " (antwoord)")
    await node.work()
    documents = [
        uris.post(post.id),
        "/n/kuregem/feed.rss",
        "/n/kuregem/feed.atom",
        "/n/kuregem/calendar.ics",
        "/@amina/outbox?page=1",
        "/@bram/outbox?page=1",
        "/n/kuregem/outbox?page=1",
    ]
    for path in documents:
        for headers in ({}, AP):
            got = await node.client.get(path, headers=headers)
            assert got.status_code == 200, path
            assert SECRET not in got.text and "conversation" not in got.text, path
    # A message's id is for delivery only: never served, whatever is asked for.
    own_url = uris.conversation_message(post.id, message.id)
    assert uris.parse(node.settings, node.url(own_url)) == uris.LocalRef(
        "message", str(post.id), str(message.id)
    )
    for headers in ({}, AP, {"accept": "application/ld+json"}):
        got = await node.client.get(own_url, headers=headers)
        assert got.status_code == 404 and SECRET not in got.text
    # Nor is the conversation itself served to a server.
    got = await node.client.get(uris.conversation(post.id), headers=AP)
    assert got.status_code == 404 and SECRET not in got.text


async def test_bad_input_is_refused_with_the_form(web: Browser, scene: Scene) -> None:
    await web.log_in_as(scene.helper)
    for body, error in (("   \n ", "Is required"), ("x" * 2001, "Is too long")):
        page = await write(web, scene.post, body)
        assert page.status_code == 400
        assert 'id="message_body-error"' in page.text and error in page.text
        assert page.headers["cache-control"] == "private, no-store"
    assert await ConversationMessage.all().count() == 0
    assert await Notification.filter(kind=NotificationKind.MESSAGE).count() == 0
    # Exactly the limit is fine.
    assert (await write(web, scene.post, "y" * 2000)).status_code == 303


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=2100))
async def test_any_text_is_stored_as_cleaned_or_refused(
    web: Browser, scene: Scene, raw: str
) -> None:
    await web.log_in_as(scene.author)
    before = await ConversationMessage.all().count()
    answer = await write(web, scene.post, raw)
    try:
        expected = validation.text("body", raw.replace("\x00", ""), max_len=2000, required=True)
    except InvalidInput:
        assert answer.status_code == 400
        assert await ConversationMessage.all().count() == before
        return
    assert answer.status_code == 303
    newest = await ConversationMessage.all().order_by("-created_at").first()
    assert newest is not None and newest.body == expected
    assert await ConversationMessage.all().count() == before + 1


@pytest.mark.parametrize("closing", [PostStatus.WITHDRAWN, PostStatus.EXPIRED])
async def test_a_closed_request_is_read_only(
    web: Browser, scene: Scene, closing: PostStatus
) -> None:
    await conversations.post_message(scene.helper, scene.post, "Tot zaterdag")
    await posts.set_status(scene.post, closing, by=None)
    await web.log_in_as(scene.helper)
    page = await web.get(uris.conversation(scene.post.id))
    assert page.status_code == 200 and "Tot zaterdag" in page.text
    assert 'id="conversation-closed"' in page.text and 'name="body"' not in page.text
    refused = await write(web, scene.post, "Toch nog iets")
    assert refused.status_code == 409
    assert "you can still read the conversation" in refused.text
    assert await ConversationMessage.filter(post_id=scene.post.id).count() == 1


async def test_a_request_the_moderators_removed_takes_no_more_messages(
    web: Browser, scene: Scene
) -> None:
    """Its author still reads the thread (they see their removed request), but nothing
    more goes to the helpers, here or elsewhere, as no remote reply is taken either."""
    await conversations.post_message(scene.helper, scene.post, "Tot zaterdag")
    moderator = await factories.moderator()
    assert await sanctions.hide_post(moderator, scene.post, "Geen hulpvraag")
    post = await HelpPost.get(id=scene.post.id)
    assert not conversations.is_open(post)
    await web.log_in_as(scene.author)
    page = await web.get(uris.conversation(post.id))
    assert page.status_code == 200 and "Tot zaterdag" in page.text
    assert 'name="body"' not in page.text
    refused = await write(web, post, "Ik stuur het adres")
    assert refused.status_code == 409
    assert await ConversationMessage.filter(post_id=post.id).count() == 1
    assert await Event.filter(kind="ConversationMessagePosted").count() == 1  # the first only


async def test_a_remote_helpers_message_shows_sanitised(web: Browser, scene: Scene) -> None:
    actor = await RemoteActor.create(
        uri="https://social.example/users/zoe",
        domain="social.example",
        username="zoe",
        display_name="Zoë",
        inbox="https://social.example/users/zoe/inbox",
        key_id="https://social.example/users/zoe#main-key",
        public_key_pem="",
        fetched_at=utcnow(),
    )
    await Response.create(
        post=scene.post,
        remote_author=actor,
        kind=ResponseKind.OFFER,
        offer_status=OfferStatus.ACCEPTED,
        body_html="<p>Ik help</p>",
    )
    stored = await conversations.receive_remote(
        actor,
        scene.post,
        "https://social.example/notes/1",
        '<p>Ik neem <a href="https://social.example/x">de kar</a> mee</p><script>x()</script>',
    )
    assert stored is not None
    await web.log_in_as(scene.author)
    page = await web.get(uris.conversation(scene.post.id))
    assert "Zoë (@zoe@social.example)" in page.text
    assert "<p>Ik neem " in page.text and "<script>" not in page.text
    listing = await web.get("/notifications")
    assert "Zoë wrote in the conversation" in listing.text


async def test_the_new_notification_kinds_are_worded(web: Browser, scene: Scene) -> None:
    """NOT_NEEDED and THANKED as the notifications page words them (whoever sends them)."""
    from node.services.notifications import notify

    await notify(scene.helper.id, NotificationKind.NOT_NEEDED, post=scene.post)
    await notify(scene.helper.id, NotificationKind.THANKED, actor=scene.author, post=scene.post)
    await web.log_in_as(scene.helper)
    listing = await web.get("/notifications")
    assert listing.status_code == 200
    assert "Your offer for “Boodschappen doen” is no longer needed — thank you!" in listing.text
    assert "Amina thanked you for helping with “Boodschappen doen”." in listing.text
