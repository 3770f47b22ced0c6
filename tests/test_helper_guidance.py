"""Guiding helpers on a request's page: the category's guide ("Before you help"), read
and confirmed before a first offer in a category, and first-time helpers marked for the
neighbourhood's connectors and the post's team (`node.services.helper_firsts`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from node.models import Account, HelpPost, Neighbourhood, Response, ResponseKind
from node.services import helper_firsts, neighbourhoods, responses
from node.services.guides import default_guide
from node.states import OfferStatus
from tests import factories
from tests.webclient import Browser, browser

BADGE = "first time helping in this neighbourhood"
CHECKBOX = 'name="read_guide"'


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    async with browser(database) as b:
        yield b


@pytest.fixture
async def hood(database: str) -> Neighbourhood:
    return await factories.neighbourhood("jette-centre", commune="Jette")


@pytest.fixture
async def author(database: str) -> Account:
    return await factories.account("amina", languages=["en"])


async def request_in(
    author: Account, hood: Neighbourhood, category: str = "transport", **fields: object
) -> HelpPost:
    return await factories.post(author, hood, category=category, language="en", **fields)


# --- the rules -------------------------------------------------------------------------


async def test_a_guide_is_needed_before_the_first_offer_in_a_category(
    hood: Neighbourhood, author: Account
) -> None:
    helper = await factories.account("bert")
    assert await helper_firsts.needs_guide(helper, "transport")
    # Taking up someone's offer of help is not helping: it does not count.
    lift = await factories.post(author, hood, kind="offer", title="Ik rij zaterdag naar Ikea")
    await responses.offer_help(helper, lift)
    assert await helper_firsts.needs_guide(helper, "transport")
    offer = await factories.offer(await request_in(author, hood), helper)
    assert not await helper_firsts.needs_guide(helper, "transport")
    assert await helper_firsts.needs_guide(helper, "garden")
    # Withdrawn or declined, the guide was read then.
    await responses.withdraw_offer(helper, offer)
    assert not await helper_firsts.needs_guide(helper, "transport")
    # Comments are not offers.
    other = await factories.account("carla")
    await responses.add_comment(other, await request_in(author, hood, "garden"), "Wanneer?")
    assert await helper_firsts.needs_guide(other, "garden")


async def test_first_timers_are_those_whose_first_offer_in_the_neighbourhood_is_here(
    hood: Neighbourhood, author: Account, caplog: pytest.LogCaptureFixture
) -> None:
    elsewhere = await factories.neighbourhood("laeken")
    regular, newcomer, traveller = [await factories.account(n) for n in ("reg", "newbie", "trav")]
    earlier = await request_in(author, hood, "garden", title="Hedge to trim, please")
    await factories.offer(earlier, regular)
    await factories.offer(await request_in(author, elsewhere), traveller)
    post = await request_in(author, hood)
    assert await helper_firsts.first_timers(post) == set()
    by_regular = await factories.offer(post, regular)
    by_newcomer = await factories.offer(post, newcomer)
    by_traveller = await factories.offer(post, traveller)  # new here, known elsewhere
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        caplog.clear()
        found = await helper_firsts.first_timers(post)
        queries = [r for r in caplog.records if r.name == "tortoise.db_client"]
    assert found == {str(by_newcomer.id), str(by_traveller.id)}
    assert len(queries) == 1, [r.getMessage() for r in queries]  # not one per offer
    # On the newcomer's next request they are known.
    later = await request_in(author, hood, title="Another sofa to carry")
    again = await factories.offer(later, newcomer)
    assert str(again.id) not in await helper_firsts.first_timers(later)
    # Withdrawn and offered again here: still their first time in the neighbourhood.
    await responses.withdraw_offer(newcomer, by_newcomer)
    second = await responses.offer_help(newcomer, post, "Toch wel")
    assert await helper_firsts.first_timers(post) == {
        str(by_newcomer.id),
        str(second.id),
        str(by_traveller.id),
    }
    assert str(by_regular.id) not in await helper_firsts.first_timers(post)


# --- over HTTP ---------------------------------------------------------------------------


async def test_the_first_offer_in_a_category_waits_for_the_guide(
    web: Browser, hood: Neighbourhood, author: Account
) -> None:
    post = await request_in(author, hood)
    path = f"/r/{post.id}"
    helper = await factories.account("bert", languages=["en"])
    await web.log_in_as(helper)
    page = await web.get(path)
    guide = default_guide("transport", "en")
    assert '<details class="guide" open id="guide">' in page.text
    assert guide.title in page.text and guide.points[0] in page.text
    assert CHECKBOX in page.text
    # Without confirming the guide: the page again, the guide and an error; nothing sent.
    unread = await web.submit(f"{path}/offer", {"body": "Zaterdag?"}, page=path)
    assert unread.status_code == 400
    assert 'id="read_guide-error"' in unread.text and guide.points[0] in unread.text
    assert "Zaterdag?" in unread.text  # the message is kept
    assert await Response.all().count() == 0
    read = await web.submit(f"{path}/offer", {"body": "Zaterdag?", "read_guide": "yes"}, page=path)
    assert read.status_code == 303 and "done=offered" in read.headers["location"]
    offer = await Response.get()
    assert offer.kind == ResponseKind.OFFER and offer.offer_status == OfferStatus.OFFERED

    # The next request of that category: straight through, the guide folded away.
    next_post = await request_in(author, hood, title="Fridge to the recycling park")
    next_path = f"/r/{next_post.id}"
    page = await web.get(next_path)
    assert '<details class="guide" id="guide">' in page.text and CHECKBOX not in page.text
    sent = await web.submit(f"{next_path}/offer", {"body": "Ik kom"}, page=next_path)
    assert sent.status_code == 303
    assert await Response.filter(post_id=next_post.id).count() == 1
    # Another category is a first again.
    garden = await request_in(author, hood, "garden", title="Hedge to trim, please")
    refused = await web.submit(f"/r/{garden.id}/offer", {"body": "Ja"}, page=f"/r/{garden.id}")
    assert refused.status_code == 400
    assert await Response.filter(post_id=garden.id).count() == 0


async def test_the_guide_is_for_people_who_might_help(
    web: Browser, hood: Neighbourhood, author: Account
) -> None:
    post = await request_in(author, hood)
    path = f"/r/{post.id}"
    title = default_guide("transport", "en").title
    anonymous = await web.get(path)
    assert anonymous.status_code == 200 and title not in anonymous.text
    await web.log_in_as(author)
    assert title not in (await web.get(path)).text
    staff = await factories.account("sofie")
    org = await factories.organisation("buurthuis", staff=[staff])
    org_post = await factories.post(
        staff, hood, organisation=org.slug, language="en", title="A lift to the hospital"
    )
    colleague = await factories.coordinator_of(org)
    await web.log_in_as(colleague)
    assert title not in (await web.get(f"/r/{org_post.id}")).text
    # In the reader's language.
    helper = await factories.account("bert", languages=["fr"])
    await web.log_in_as(helper)
    french = await web.get(path, headers={"accept-language": "fr"})
    assert default_guide("transport", "fr").title in french.text
    # An offer (not a request) has no guide: those answering take help.
    lift = await factories.post(author, hood, kind="offer", title="Ik rij naar Ikea")
    page = await web.get(f"/r/{lift.id}")
    assert CHECKBOX not in page.text and 'class="guide"' not in page.text
    sent = await web.submit(f"/r/{lift.id}/offer", {"body": "Graag"}, page=f"/r/{lift.id}")
    assert sent.status_code == 303


async def test_connectors_and_the_team_see_first_time_helpers(
    web: Browser, hood: Neighbourhood, author: Account
) -> None:
    regular, newcomer = await factories.account("reg"), await factories.account("newbie")
    await factories.offer(await request_in(author, hood, title="Hedge to trim"), regular)
    post = await request_in(author, hood, helpers_needed=2)
    await factories.offer(post, regular)
    await factories.offer(post, newcomer)
    connector = await factories.account("connie", languages=["en"])
    await neighbourhoods.add_connector(hood, connector, by=await factories.admin())
    path = f"/r/{post.id}"
    for who in (author, connector):
        await web.log_in_as(who)
        page = await web.get(path)
        assert page.text.count(BADGE) == 1, who.username
        newcomer_card = page.text[page.text.index("/@newbie") :]
        assert BADGE in newcomer_card[: newcomer_card.index("</article>")]
    # Other helpers, and visitors, do not see who is new.
    await web.log_in_as(await factories.account("someone"))
    assert BADGE not in (await web.get(path)).text
    web.log_out_locally()
    assert BADGE not in (await web.get(path)).text
