"""A request's page shows its responses fifty at a time, whatever their number.

A request with thousands of replies once rendered all of them (3.7 MB for 9,221). The
page now counts in SQL and loads one page with LIMIT; links lead to older and newer
responses; the accepted helpers and the viewer's own offer are shown on every page;
who sees which response is decided in SQL exactly as `removals.shown_responses` does.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.models import (
    Account,
    DomainPolicy,
    HelpPost,
    RemoteActor,
    Response,
    ResponseKind,
)
from node.services import domain_policy, post_view, removals, responses
from node.states import OfferStatus
from node.timeutil import utcnow
from tests import factories
from tests.webclient import Browser, browser

PAGE = post_view.PAGE_SIZE
ARTICLE = re.compile(r'<article class="response[^"]*">.*?</article>', re.S)
BODY = re.compile(r"reply (\d+) ")
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
PREV = re.compile(r'<a href="([^"]+)" rel="prev">')


async def remote_actor(name: str, domain: str, standing: str = "") -> RemoteActor:
    return await RemoteActor.create(
        uri=f"https://{domain}/users/{name}",
        domain=domain,
        username=name,
        inbox=f"https://{domain}/users/{name}/inbox",
        key_id=f"https://{domain}/users/{name}#main-key",
        public_key_pem="",
        fetched_at=utcnow(),
        standing=standing,
    )


async def replies(post: HelpPost, count: int, authors: list[Account]) -> None:
    """`count` comments, a minute apart, numbered in the order they were written."""
    start = utcnow() - timedelta(days=30)
    rows = [
        Response(
            post=post,
            author=authors[i % len(authors)],
            kind=ResponseKind.COMMENT,
            body=f"reply {i} from a neighbour",
            created_at=start + timedelta(minutes=i),
        )
        for i in range(count)
    ]
    await Response.bulk_create(rows, batch_size=500)


def numbers(html: str) -> list[int]:
    return [int(n) for article in ARTICLE.findall(html) for n in BODY.findall(article)]


@pytest.fixture
async def big(database: str) -> tuple[HelpPost, Account]:
    """A request with 1,000 comments and one offer of help, accepted, among the first."""
    await factories.node_row()
    author = await factories.account("amina")
    post = await factories.post(author, await factories.neighbourhood("kuregem"), helpers_needed=2)
    helper = await factories.account("hendrik")
    offer = await responses.offer_help(helper, post, "Ik kom zaterdag")
    await Response.filter(id=offer.id).update(created_at=utcnow() - timedelta(days=31))
    await responses.accept_helper(author, offer)
    await replies(post, 1000, [await factories.account(f"buur{i}") for i in range(5)])
    return post, helper


async def test_a_thousand_responses_come_fifty_at_a_time(
    big: tuple[HelpPost, Account], database: str
) -> None:
    post, _ = big
    async with browser(database, page_cache_seconds=0) as web:
        first = await web.get(f"/r/{post.id}")
        assert first.status_code == 200
        assert len(first.content) < 100_000
        assert '<span class="count">(1001)</span>' in first.text
        # The accepted helper is the oldest response: on the first page, only once.
        assert first.text.count("Ik kom zaterdag") == 1
        assert numbers(first.text) == list(range(PAGE - 1))
        assert not PREV.search(first.text)

        seen, html, pages = numbers(first.text), first.text, 1
        while found := NEXT.search(html):
            page = await web.get(found.group(1).replace("&amp;", "&"))
            assert page.status_code == 200 and len(page.content) < 100_000
            html, pages = page.text, pages + 1
            seen += numbers(html)
            # The accepted helper is shown on every page.
            assert html.count("Ik kom zaterdag") == 1 and "Accepted helpers" in html
        assert pages == 21 and seen == list(range(1000))  # all of them, in order, once
        back = await web.get(PREV.search(html).group(1))  # type: ignore[union-attr]
        assert numbers(back.text) == list(range(PAGE * 19 - 1, PAGE * 20 - 1))


async def test_the_page_loads_one_page_of_rows(
    big: tuple[HelpPost, Account], database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounded in SQL: rendering a page builds about fifty Response objects, not 1,001."""
    built = 0
    original = Response._init_from_db.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Response], **kwargs: object) -> Response:
        nonlocal built
        built += 1
        return original(cls, **kwargs)

    monkeypatch.setattr(Response, "_init_from_db", classmethod(counting))
    post, _ = big
    async with browser(database, page_cache_seconds=0) as web:
        assert (await web.get(f"/r/{post.id}?page=7")).status_code == 200
    assert built <= PAGE + 2


async def test_the_viewers_offer_is_shown_on_every_page(
    big: tuple[HelpPost, Account], database: str
) -> None:
    post, _ = big
    volunteer = await factories.account("vera", languages=["en"])
    offer = await responses.offer_help(volunteer, post, "Ik heb een aanhangwagen")
    await Response.filter(id=offer.id).update(created_at=utcnow() - timedelta(days=40))
    async with browser(database, page_cache_seconds=0) as web:
        await web.log_in_as(volunteer)
        for page in (1, 2, 21):
            html = (await web.get(f"/r/{post.id}?page={page}")).text
            assert html.count("Ik heb een aanhangwagen") == 1, page
            assert html.count("Ik kom zaterdag") == 1, page
            assert ("Your offer of help" in html) == (page != 1)
            assert "Withdraw my offer" in html


async def test_a_new_comment_leads_to_the_last_page(
    big: tuple[HelpPost, Account], database: str
) -> None:
    post, _ = big
    async with browser(database, page_cache_seconds=0) as web:
        await web.log_in_as(await factories.account("wout", languages=["en"]))
        sent = await web.submit(
            f"/r/{post.id}/comment", {"body": "Nog iemand nodig?"}, page=f"/r/{post.id}"
        )
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/r/{post.id}?done=commented&page=21#responses"
        last = await web.get(sent.headers["location"].split("#")[0])
        assert "Nog iemand nodig?" in last.text and "Page 21 of 21" in last.text


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.text(max_size=12) | st.integers(-(10**6), 10**8).map(str))
async def test_any_page_value_gives_a_page(web_post: tuple[Browser, HelpPost], raw: str) -> None:
    web, post = web_post
    page = await web.get(f"/r/{post.id}", params={"page": raw})
    assert page.status_code == 200
    shown = re.search(r"Page (\d+) of 3", page.text)
    assert shown is not None
    wanted = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 5 else 1
    assert int(shown.group(1)) == min(max(wanted, 1), 3)


@pytest.fixture
async def web_post(database: str) -> AsyncIterator[tuple[Browser, HelpPost]]:
    await factories.node_row()
    author = await factories.account("amina")
    post = await factories.post(author, await factories.neighbourhood("kuregem"))
    await replies(post, 2 * PAGE + 1, [author])
    async with browser(database, page_cache_seconds=0) as web:
        yield web, post


async def test_who_sees_which_response_matches_the_moderation_rules(database: str) -> None:
    """The SQL filter answers as `removals.shown_responses` does, for each kind of viewer."""
    await factories.node_row()
    author = await factories.account("amina")
    post = await factories.post(author, await factories.neighbourhood("kuregem"))
    suspended = await factories.account("sam")
    kept = [await factories.account("kim"), await remote_actor("ok", "fine.example")]
    await domain_policy.set_domain_policy("bad.example", DomainPolicy.SUSPEND)
    await domain_policy.set_domain_policy("quiet.example", DomainPolicy.LIMIT)
    hidden_authors = [
        suspended,
        await remote_actor("limited", "fine.example", "limited"),
        await remote_actor("gone", "fine.example", "suspended"),
        await remote_actor("spam", "sub.bad.example"),
        await remote_actor("shy", "quiet.example"),
    ]
    for who in kept + hidden_authors:
        local = isinstance(who, Account)
        await Response.create(
            post=post,
            author=who if local else None,
            remote_author=None if local else who,
            object_uri=None if local else f"{who.uri}/notes/{uuid.uuid4()}",
            kind=ResponseKind.COMMENT,
            body=f"from {who.id}",
        )
    moderated = await Response.create(post=post, author=kept[0], kind="comment", body="x")
    moderated.hidden_at = utcnow()
    await moderated.save(update_fields=["hidden_at"])
    suspended.suspended_at = utcnow()
    await suspended.save(update_fields=["suspended_at"])

    viewers = [None, author, await factories.moderator()]
    for viewer in viewers:
        rows = await post_view.responses_of(post)
        hosts = await domain_policy.hidden_hosts(
            r.remote_author.domain for r in rows if r.remote_author_id
        )
        expected = {r.id for r in removals.shown_responses(rows, viewer, hosts)}
        view = await post_view.view_post(post, viewer)
        assert {r.id for r in view.responses} == expected
        assert view.total == len(expected)
    assert len(expected) == len(rows) == 8  # the moderator sees all (marked)
    public = await post_view.view_post(post, None)
    assert public.total == 2


async def test_pinned_offers_respect_moderation(
    big: tuple[HelpPost, Account], database: str
) -> None:
    """A hidden accepted helper is pinned for nobody but the moderators."""
    post, helper = big
    offer = await Response.get(post_id=post.id, author_id=helper.id)
    assert offer.offer_status == OfferStatus.ACCEPTED
    last = await post_view.view_post(post, None, page=21)
    assert [r.id for r in last.pinned] == [offer.id] and last.page == 21
    offer.hidden_at = utcnow()
    await offer.save(update_fields=["hidden_at"])
    assert (await post_view.view_post(post, None, page=21)).pinned == []
    moderated = await post_view.view_post(post, await factories.moderator(), page=21)
    assert [r.id for r in moderated.pinned] == [offer.id]
    # The helper still counts in the places taken.
    assert moderated.accepted == 1
