"""Offers nobody took are answered "no longer needed" when the request is filled or
closed (locally, by message or Reject elsewhere); finished requests lose the buttons
that no longer apply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from node.errors import Conflict
from node.models import (
    Account,
    Event,
    HelpPost,
    Neighbourhood,
    Notification,
    NotificationKind,
    Response,
)
from node.services import offer_closure, posts, responses, sanctions
from node.states import OfferStatus, PostStatus
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node
from tests.test_agreements import offer as agreement_offer
from tests.webclient import Browser, browser

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def hood(database: str) -> Neighbourhood:
    return await factories.neighbourhood("kuregem")


@pytest.fixture
async def author(database: str) -> Account:
    return await factories.account("amina")


async def _statuses(*offers: Response) -> list[str | None]:
    return [(await Response.get(id=o.id)).offer_status for o in offers]


async def _not_needed_told(offer: Response) -> int:
    return await Notification.filter(
        recipient_id=offer.author_id, kind=NotificationKind.NOT_NEEDED, response_id=offer.id
    ).count()


async def _events(offer: Response) -> list[tuple[str, str]]:
    rows = await Event.filter(kind="OfferStatusChanged").order_by("id")
    return [
        (row.payload["old"], row.payload["new"])
        for row in rows
        if row.payload["response_id"] == str(offer.id)
    ]


async def test_a_filled_request_answers_the_other_offers(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW, helpers_needed=1)
    taken, waiting, also_waiting = [await factories.offer(post) for _ in range(3)]
    withdrawn = await factories.offer(post)
    await responses.withdraw_offer(await Account.get(id=withdrawn.author_id), withdrawn)

    await responses.accept_helper(author, taken)

    assert (await HelpPost.get(id=post.id)).status == PostStatus.MATCHED
    assert await _statuses(taken, waiting, also_waiting, withdrawn) == [
        OfferStatus.ACCEPTED,
        OfferStatus.NOT_NEEDED,
        OfferStatus.NOT_NEEDED,
        OfferStatus.WITHDRAWN,
    ]
    for offer in (waiting, also_waiting):
        assert await _not_needed_told(offer) == 1
        assert await _events(offer) == [("offered", "not_needed")]
    # The accepted helper hears they were accepted, not that they are not needed.
    assert await _not_needed_told(taken) == 0
    assert await _not_needed_told(withdrawn) == 0
    assert await _events(withdrawn) == [("offered", "withdrawn")]


@pytest.mark.parametrize("status", [PostStatus.DONE, PostStatus.WITHDRAWN])
async def test_done_or_withdrawn_answers_waiting_offers_and_keeps_accepted_ones(
    hood: Neighbourhood, author: Account, status: PostStatus
) -> None:
    post = await factories.post(author, hood, now=NOW, helpers_needed=3)
    accepted, waiting = await factories.offer(post), await factories.offer(post)
    declined = await factories.offer(post)
    await responses.accept_helper(author, accepted)
    await responses.decline_helper(author, declined)

    await posts.change_status(author, post, status)

    assert await _statuses(accepted, waiting, declined) == [
        OfferStatus.ACCEPTED,
        OfferStatus.NOT_NEEDED,
        OfferStatus.DECLINED,
    ]
    told = await Notification.get(kind=NotificationKind.NOT_NEEDED)
    assert (told.recipient_id, told.actor_id, told.post_id) == (
        waiting.author_id,
        author.id,
        post.id,
    )


async def test_expiry_answers_waiting_offers_in_the_name_of_the_node(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW, expires_at=NOW + timedelta(days=3))
    waiting = await factories.offer(post)
    assert await posts.expire_due_posts(now=NOW + timedelta(days=4)) == 1
    assert await _statuses(waiting) == [OfferStatus.NOT_NEEDED]
    told = await Notification.get(kind=NotificationKind.NOT_NEEDED)
    assert told.recipient_id == waiting.author_id and told.actor_id is None


async def test_hidden_by_the_moderators_answers_waiting_offers(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW)
    waiting = await factories.offer(post)
    moderator = await factories.moderator()
    assert await sanctions.hide_post(moderator, post, "spam")
    assert await _statuses(waiting) == [OfferStatus.NOT_NEEDED]
    # From the node: the notification does not name the moderator.
    told = await Notification.get(kind=NotificationKind.NOT_NEEDED)
    assert told.actor_id is None


async def test_closing_twice_changes_nothing_more(hood: Neighbourhood, author: Account) -> None:
    post = await factories.post(author, hood, now=NOW)
    waiting = await factories.offer(post)
    await posts.change_status(author, post, PostStatus.DONE)
    events_before = await Event.all().count()
    assert await offer_closure.close_waiting_offers(post, by=author) == 0
    assert await _not_needed_told(waiting) == 1
    assert await Event.all().count() == events_before


async def test_reopening_does_not_revive_answered_offers_but_they_may_offer_again(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW, helpers_needed=1)
    taken = await factories.offer(post)
    helper = await factories.account("helper")
    waiting = await factories.offer(post, helper)
    await responses.accept_helper(author, taken)
    await responses.decline_helper(author, taken)  # the helper is released: open again

    assert (await HelpPost.get(id=post.id)).status == PostStatus.OPEN
    assert await _statuses(waiting) == [OfferStatus.NOT_NEEDED]
    again = await responses.offer_help(helper, await HelpPost.get(id=post.id), "Nog steeds")
    assert again.offer_status == OfferStatus.OFFERED


async def test_a_matched_post_marked_by_hand_answers_offers_too(
    hood: Neighbourhood, author: Account
) -> None:
    post = await factories.post(author, hood, now=NOW, helpers_needed=2)
    waiting = await factories.offer(post)
    await posts.change_status(author, post, PostStatus.MATCHED)
    assert await _statuses(waiting) == [OfferStatus.NOT_NEEDED]
    with pytest.raises(Conflict):
        await responses.accept_helper(author, waiting)


# ---- other servers ----------------------------------------------------------------------


async def _remote_reply_offer(node: Node, remote: FakeRemote, post: HelpPost) -> dict:
    reply = remote.note("alice", f"{BASE}/r/{post.id}", "<p>I can help!</p>")
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", reply))
    await node.work()
    return reply


async def test_a_mastodon_helper_gets_a_direct_no_longer_needed_note(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    author = await factories.account("greet")
    post = await factories.post(
        author, hood, language="en", title="Carry a sofa to the park", helpers_needed=1
    )
    reply = await _remote_reply_offer(node, remote, post)
    offer = await Response.get(object_uri=reply["id"])
    assert offer.offer_status == OfferStatus.OFFERED
    remote.received.clear()

    await responses.accept_helper(author, await factories.offer(post))
    await node.work()

    assert (await Response.get(id=offer.id)).offer_status == OfferStatus.NOT_NEEDED
    [message] = [
        r.json
        for r in remote.received
        if r.json["type"] == "Create" and r.json["object"]["id"].endswith("#not-needed")
    ]
    note = message["object"]
    alice = remote.actor_url("alice")
    assert message["actor"] == f"{BASE}/@greet" and note["attributedTo"] == f"{BASE}/@greet"
    assert message["to"] == [alice] and message["cc"] == []
    assert note["to"] == [alice] and note["cc"] == []
    assert note["inReplyTo"] == reply["id"]
    [mention] = note["tag"]
    assert mention["type"] == "Mention" and mention["href"] == alice
    assert (
        "Thank you for offering to help with “Carry a sofa to the park”: it is no longer needed."
        in note["content"]
    )
    assert 'class="u-url mention"' in note["content"]
    assert note["contentMap"] == {"en": note["content"]}
    # Nothing is sent twice when the closed post closes again (done after matched).
    await posts.change_status(author, await HelpPost.get(id=post.id), PostStatus.DONE)
    remote.received.clear()
    await node.work()
    assert not [r for r in remote.received if r.json["type"] == "Create"]


async def test_an_offer_agreement_no_longer_needed_gets_a_reject(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    post = await factories.post(greet, hood)
    activity = agreement_offer(remote, str(post.id))
    assert (await node.post_activity(remote, "alice", activity)).status_code == 202
    await node.work()
    recorded = await Response.get(object_uri=activity["id"])
    assert recorded.via_agreement and recorded.offer_status == OfferStatus.OFFERED
    remote.received.clear()

    await posts.change_status(greet, post, PostStatus.WITHDRAWN)
    await node.work()

    [answer] = [r.json for r in remote.received if r.json["type"] in ("Accept", "Reject")]
    assert answer["type"] == "Reject" and answer["object"] == activity["id"]
    assert answer["to"] == [remote.actor_url("alice")] and "result" not in answer
    # A Reject, not a message as well.
    assert not [r for r in remote.received if r.json["type"] == "Create"]


# ---- the page ---------------------------------------------------------------------------


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    async with browser(database, page_cache_seconds=0) as b:
        yield b


async def _page(web: Browser, post: HelpPost) -> str:
    response = await web.get(f"/r/{post.id}")
    assert response.status_code == 200
    return response.text


async def test_a_done_request_shows_no_buttons_that_no_longer_apply(web: Browser) -> None:
    hood = await factories.neighbourhood("jette-centre")
    author = await factories.account("greet", languages=["en"])
    post = await factories.post(author, hood, helpers_needed=2)
    helper = await factories.account("helper", languages=["en"])
    late = await factories.account("late", languages=["en"])
    accepted = await factories.offer(post, helper)
    await factories.offer(post, late)
    await responses.accept_helper(author, accepted)
    await posts.change_status(author, post, PostStatus.DONE)

    await web.log_in_as(author)
    page = await _page(web, post)
    assert "No longer needed" in page and "offer-not_needed" in page
    for gone in ("/accept", "/decline", "Release helper", "Decline", "/comment", "/offer"):
        assert gone not in page, gone
    assert 'action="/r/' + str(post.id) + '/edit"' not in page
    assert "Open it again" in page  # a done request may be reopened: that still applies

    await web.log_in_as(late)
    page = await _page(web, post)
    assert 'id="offer-not-needed"' in page
    assert "Thank you for your offer: it is no longer needed." in page
    assert "I can help" not in page and "/withdraw" not in page and "Manage this post" not in page

    await web.log_in_as(helper)
    page = await _page(web, post)
    assert "Withdraw my offer" not in page and "/withdraw" not in page


@pytest.mark.parametrize("status", [PostStatus.WITHDRAWN, PostStatus.EXPIRED])
async def test_a_withdrawn_or_expired_request_takes_no_answers(
    web: Browser, status: PostStatus
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    author = await factories.account("greet", languages=["en"])
    post = await factories.post(
        author, hood, now=NOW, expires_at=NOW + timedelta(days=2), helpers_needed=1
    )
    waiting = await factories.offer(post)
    if status == PostStatus.WITHDRAWN:
        await posts.change_status(author, post, status)
    else:
        await posts.expire_due_posts(now=NOW + timedelta(days=3))
    assert (await HelpPost.get(id=post.id)).status == status

    page = await _page(web, post)  # a visitor
    assert "Log in to help or to answer" not in page
    assert "Answer from your fediverse account" not in page
    await web.log_in_as(author)
    page = await _page(web, post)
    assert "No longer needed" in page
    for gone in ("/comment", "/accept", "/decline", "Manage this post", "/edit"):
        assert gone not in page, gone
    await web.log_in_as(await Account.get(id=waiting.author_id))
    page = await _page(web, post)
    assert 'id="offer-not-needed"' in page and "/comment" not in page


async def test_a_filled_request_offers_no_help_form(web: Browser) -> None:
    hood = await factories.neighbourhood("jette-centre")
    author = await factories.account("greet", languages=["en"])
    post = await factories.post(author, hood, helpers_needed=1)
    await responses.accept_helper(author, await factories.offer(post))
    await web.log_in_as(await factories.account("neighbour", languages=["en"]))
    page = await _page(web, post)
    assert "Can you help?" not in page and "/offer" not in page
    assert "/comment" in page  # a question may still be asked of a matched request
