"""The author's thank-you once a request is done (shown, told to local and remote
helpers), and the requests a person helped with on their profile."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node import validation
from node.errors import Conflict, InvalidInput, PermissionDenied
from node.models import (
    Account,
    Event,
    HelpPost,
    Neighbourhood,
    Notification,
    NotificationKind,
    Response,
    ResponseKind,
)
from node.services import follows, posts, responses, sanctions, thanks
from node.states import PostStatus
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node
from tests.webclient import Browser, browser


@pytest.fixture
async def hood(database: str) -> Neighbourhood:
    return await factories.neighbourhood("jette-centre")


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    async with browser(database, page_cache_seconds=0) as b:
        yield b


async def done_request(
    hood: Neighbourhood, author: Account, *helpers: Account, **fields: object
) -> HelpPost:
    """A request `helpers` were accepted on, marked done."""
    post = await factories.post(author, hood, helpers_needed=max(1, len(helpers)), **fields)
    for helper in helpers:
        await responses.accept_helper(author, await factories.offer(post, helper))
    post = await HelpPost.get(id=post.id)
    return await posts.change_status(author, post, PostStatus.DONE)


async def _thanks_count() -> int:
    return await Response.filter(kind=ResponseKind.THANKS).count()


# ---- the rules --------------------------------------------------------------------------


async def test_the_author_thanks_the_helpers_once(hood: Neighbourhood) -> None:
    author = await factories.account("greet")
    one, two = await factories.account("one"), await factories.account("two")
    post = await done_request(hood, author, one, two)

    thank_you = await thanks.thank_helpers(author, post, "  Merci à vous deux !  ")

    assert thank_you.kind == ResponseKind.THANKS and thank_you.body == "Merci à vous deux !"
    told = await Notification.filter(kind=NotificationKind.THANKED).order_by("recipient_id")
    assert [(n.recipient_id, n.actor_id, n.response_id) for n in told] == [
        (one.id, author.id, thank_you.id),
        (two.id, author.id, thank_you.id),
    ]
    [event] = await Event.filter(kind="HelpersThanked")
    assert event.payload == {"response_id": str(thank_you.id), "post_id": str(post.id)}
    with pytest.raises(Conflict):
        await thanks.thank_helpers(author, post, "Nog eens")
    assert await _thanks_count() == 1
    assert not await thanks.may_thank(author, post)


async def test_a_thank_you_may_be_without_words(hood: Neighbourhood) -> None:
    author = await factories.account("greet")
    post = await done_request(hood, author, await factories.account("one"))
    assert (await thanks.thank_helpers(author, post)).body == ""


async def test_only_done_requests_are_thanked_and_only_by_their_managers(
    hood: Neighbourhood,
) -> None:
    author = await factories.account("greet")
    helper = await factories.account("helper")
    post = await factories.post(author, hood)
    await responses.accept_helper(author, await factories.offer(post, helper))
    matched = await HelpPost.get(id=post.id)
    assert not await thanks.may_thank(author, matched)
    with pytest.raises(Conflict):
        await thanks.thank_helpers(author, matched, "Te vroeg")
    done = await posts.change_status(author, matched, PostStatus.DONE)
    for stranger in (helper, await factories.account("stranger"), await factories.moderator()):
        assert not await thanks.may_thank(stranger, done)
        with pytest.raises(PermissionDenied):
            await thanks.thank_helpers(stranger, done, "Bedankt")
    with pytest.raises(InvalidInput):
        await thanks.thank_helpers(author, done, "x" * (thanks.MAX_LENGTH + 1))
    assert await _thanks_count() == 0
    assert not await Notification.filter(kind=NotificationKind.THANKED).exists()
    assert await thanks.may_thank(author, done)


async def test_an_organisations_staff_thank_for_it(hood: Neighbourhood) -> None:
    staff = await factories.account("staff")
    colleague = await factories.account("colleague")
    org = await factories.organisation("buurthuis", staff=[staff, colleague])
    helper = await factories.account("helper")
    post = await done_request(hood, staff, helper, organisation=org.slug)
    await thanks.thank_helpers(colleague, post, "Bedankt namens het buurthuis")
    told = await Notification.get(kind=NotificationKind.THANKED)
    assert told.recipient_id == helper.id and told.organisation_id == org.id


# ---- the page ---------------------------------------------------------------------------


async def test_the_thank_you_form_and_its_display(web: Browser, hood: Neighbourhood) -> None:
    author = await factories.account("greet", languages=["en"])
    helper = await factories.account("helper", languages=["en"])
    post = await done_request(hood, author, helper)
    page_path = f"/r/{post.id}"

    await web.log_in_as(author)
    page = (await web.get(page_path)).text
    assert "Thank the helpers" in page and f'action="{page_path}/thanks"' in page
    answer = await web.submit(
        f"{page_path}/thanks", {"body": "Thanks <b>so</b> much!"}, page=page_path
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{page_path}?done=thanked#thanks"
    page = (await web.get(f"{page_path}?done=thanked")).text
    assert "Your thank-you is published and the helpers have been told." in page
    assert "Thank you from Greet" in page
    assert "Thanks &lt;b&gt;so&lt;/b&gt; much!" in page  # escaped, never markup
    assert f'action="{page_path}/thanks"' not in page
    # Shown once, prominently, not among the responses (nor counted with them).
    assert page.count("Thanks &lt;b&gt;so") == 1
    assert 'id="thanks-heading"' in page

    again = await web.submit(f"{page_path}/thanks", {"body": "Again"}, page=page_path)
    assert again.status_code == 409
    assert "You have already thanked the helpers of this request." in again.text
    assert "Someone changed this" not in again.text
    assert await _thanks_count() == 1

    web.log_out_locally()
    visitor = (await web.get(page_path)).text
    assert "Thank you from Greet" in visitor and "Thank the helpers" not in visitor
    await web.log_in_as(helper)
    seen = (await web.get(page_path)).text
    assert "Thank you from Greet" in seen and f'action="{page_path}/thanks"' not in seen


async def test_strangers_and_unfinished_requests_get_clear_answers(
    web: Browser, hood: Neighbourhood
) -> None:
    author = await factories.account("greet", languages=["en"])
    post = await done_request(hood, author, await factories.account("helper"))
    open_one = await factories.post(author, hood)

    anonymous = await web.submit(f"/r/{post.id}/thanks", {"body": "Hi"}, page=f"/r/{post.id}")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    await web.log_in_as(await factories.account("stranger", languages=["en"]))
    assert "Thank the helpers" not in (await web.get(f"/r/{post.id}")).text
    stranger = await web.submit(f"/r/{post.id}/thanks", {"body": "Hi"}, page=f"/r/{post.id}")
    assert stranger.status_code == 403
    await web.log_in_as(author)
    assert "Thank the helpers" not in (await web.get(f"/r/{open_one.id}")).text
    early = await web.submit(f"/r/{open_one.id}/thanks", {"body": "Hi"}, page=f"/r/{open_one.id}")
    assert early.status_code == 409
    assert "already thanked" not in early.text
    long = await web.submit(f"/r/{post.id}/thanks", {"body": "x" * 501}, page=f"/r/{post.id}")
    assert long.status_code == 400
    assert "too long" in long.text and 'id="thanks_body"' in long.text
    assert await _thanks_count() == 0


async def test_a_hidden_thank_you_leaves_the_page(web: Browser, hood: Neighbourhood) -> None:
    author = await factories.account("greet", languages=["en"])
    post = await done_request(hood, author, await factories.account("helper"))
    thank_you = await thanks.thank_helpers(author, post, "Bedankt aan iedereen")
    assert await sanctions.hide_response(await factories.moderator(), thank_you, "spam")
    page = (await web.get(f"/r/{post.id}")).text
    assert "Bedankt aan iedereen" not in page and "Thank you from" not in page
    await web.log_in_as(author)
    # Gone for good: no second thank-you in its place.
    assert "Thank the helpers" not in (await web.get(f"/r/{post.id}")).text


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.text(max_size=700))
async def test_any_thank_you_text_is_stored_cleaned_or_refused(
    web: Browser, hood: Neighbourhood, body: str
) -> None:
    author = await factories.account(languages=["en"])
    post = await done_request(hood, author, await factories.account())
    await web.log_in_as(author)
    answer = await web.submit(f"/r/{post.id}/thanks", {"body": body}, page=f"/r/{post.id}")
    assert answer.status_code in (303, 400), answer.status_code
    stored = await Response.get_or_none(post_id=post.id, kind=ResponseKind.THANKS)
    if answer.status_code == 400:
        assert stored is None
        with pytest.raises(InvalidInput):
            validation.text("body", body, max_len=thanks.MAX_LENGTH)
    else:
        assert stored is not None
        assert stored.body == validation.text("body", body, max_len=thanks.MAX_LENGTH)
        assert (await web.get(f"/r/{post.id}")).status_code == 200


# ---- other servers ----------------------------------------------------------------------


async def test_remote_helpers_get_the_thank_you_as_a_direct_note(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    author = await factories.account("greet")
    local = await factories.account("local")
    post = await factories.post(
        author, hood, language="en", title="Paint a fence", helpers_needed=2
    )
    reply = remote.note("alice", f"{BASE}/r/{post.id}", "<p>I can help!</p>")
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", reply))
    await node.work()
    await responses.accept_helper(author, await Response.get(object_uri=reply["id"]))
    await responses.accept_helper(author, await factories.offer(post, local))
    await posts.change_status(author, await HelpPost.get(id=post.id), PostStatus.DONE)
    await node.work()
    remote.received.clear()

    thank_you = await thanks.thank_helpers(author, post, "You were great.\n\nSee you <soon>!")
    await node.work()

    [message] = [r.json for r in remote.received if r.json["type"] == "Create"]
    note, alice = message["object"], remote.actor_url("alice")
    assert message["to"] == [alice] and message["cc"] == [] and note["to"] == [alice]
    assert note["inReplyTo"] == reply["id"]
    assert note["id"].startswith(f"{BASE}/r/{post.id}/responses/{thank_you.id}#")
    [mention] = note["tag"]
    assert mention == {"type": "Mention", "href": alice, "name": mention["name"]}
    assert "Greet thanks you for your help with “Paint a fence”." in note["content"]
    assert "<p>You were great.</p><p>See you &lt;soon&gt;!</p>" in note["content"]
    # The local helper was told here.
    assert await Notification.filter(kind=NotificationKind.THANKED, recipient_id=local.id).exists()

    # A moderator hides the thank-you: its Note is deleted where it was sent.
    remote.received.clear()
    await sanctions.hide_response(await factories.moderator(), thank_you, "not nice")
    await node.work()
    [delete] = [r.json for r in remote.received if r.json["type"] == "Delete"]
    assert delete["object"]["id"] == note["id"]


# ---- helped with ------------------------------------------------------------------------


async def test_helped_with_follows_the_persons_choice(web: Browser, hood: Neighbourhood) -> None:
    author = await factories.account("greet", languages=["en"])
    helper = await factories.account("helper", languages=["en"])
    done = await done_request(hood, author, helper, title="Sofa to the park", language="en")
    await factories.post(author, hood, title="Still open", language="en")

    visitor = (await web.get("/@helper")).text
    assert "Helped with" not in visitor and "Sofa to the park" not in visitor
    await web.log_in_as(helper)
    own = (await web.get("/@helper")).text
    assert "Helped with" in own and f'href="/r/{done.id}"' in own
    assert 'id="helped-only-you"' in own and "change it in your settings" in own
    assert "Jette Centre" in own
    assert "Still open" not in own

    await Account.filter(id=helper.id).update(show_helped=True)
    own = (await web.get("/@helper")).text
    assert "Sofa to the park" in own and 'id="helped-only-you"' not in own
    web.log_out_locally()
    visitor = (await web.get("/@helper")).text
    assert "Helped with" in visitor and f'href="/r/{done.id}"' in visitor
    # Someone who helped with nothing shows nothing, even when they chose to.
    await Account.filter(id=author.id).update(show_helped=True)
    assert "Helped with" not in (await web.get("/@greet")).text


async def test_requests_a_viewer_may_not_see_are_never_listed(
    web: Browser, hood: Neighbourhood
) -> None:
    author = await factories.account("greet", languages=["en"])
    # The helper may see each request to offer help: a follower living in the neighbourhood.
    helper = await factories.account("helper", languages=["en"], home_neighbourhood=hood)
    await follows.follow(helper, author)
    await Account.filter(id=helper.id).update(show_helped=True)
    public = await done_request(hood, author, helper, title="Public job", language="en")
    private = await done_request(
        hood, author, helper, title="Followers job", language="en", visibility="followers"
    )
    neighbours = await done_request(
        hood, author, helper, title="Neighbours job", language="en", visibility="neighbours"
    )
    removed = await done_request(hood, author, helper, title="Removed job", language="en")
    await sanctions.hide_post(await factories.moderator(), removed, "spam")

    visitor = (await web.get("/@helper")).text
    assert f"/r/{public.id}" in visitor
    for hidden in (private, neighbours, removed):
        assert f"/r/{hidden.id}" not in visitor
    await web.log_in_as(await factories.account("elsewhere", languages=["en"]))
    stranger = (await web.get("/@helper")).text
    assert f"/r/{public.id}" in stranger
    assert f"/r/{private.id}" not in stranger and f"/r/{neighbours.id}" not in stranger
    # The helper sees all they may see themselves (they were accepted on each).
    await web.log_in_as(helper)
    own = (await web.get("/@helper")).text
    for seen in (public, private, neighbours):
        assert f"/r/{seen.id}" in own
    assert f"/r/{removed.id}" not in own
