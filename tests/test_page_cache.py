"""The page cache: fresh CSRF tokens per visitor, never stale after a posted form."""

from __future__ import annotations

import time

import httpx

from node.app import create_app
from node.config import Settings
from tests import factories
from tests.webclient import Browser, browser
from web.shell.page_cache import TOKEN_PLACEHOLDER, PageCache


async def test_a_hot_page_is_rendered_once_and_each_visitor_gets_a_token(database: str) -> None:
    author = await factories.account("camille", languages=["en"])
    hood = await factories.neighbourhood("jette-centre")
    post = await factories.post(author, hood)
    app = create_app(Settings(database_url=database), manage_database=False)
    cache: PageCache = app.state.page_cache
    tokens = []
    for _ in range(3):  # three visitors, each with their own cookies
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http:
            web = Browser(http)
            page = await web.get(f"/r/{post.id}")
            assert page.status_code == 200
            assert TOKEN_PLACEHOLDER not in page.text
            token = await web.token(f"/r/{post.id}")
            tokens.append(token)
            # The token in a page from the cache works for this visitor's form.
            switched = await http.post(
                "/language", data={"language": "fr", "next": "/", "csrf_token": token}
            )
            assert switched.status_code == 303
    assert len(set(tokens)) == 3
    # Each visitor's second view came from the cache; each posted form emptied it.
    assert (cache.hits, cache.misses) == (3, 3)


async def test_logged_in_pages_and_posted_forms_bypass_and_clear_it(database: str) -> None:
    author = await factories.account("camille", languages=["en"])
    hood = await factories.neighbourhood("jette-centre")
    post = await factories.post(author, hood, title="Eerste titel")
    async with browser(database) as web:
        cache: PageCache = web.http._transport.app.state.page_cache  # type: ignore[attr-defined]
        assert "Eerste titel" in (await web.get(f"/n/{hood.slug}")).text
        await web.log_in_as(author)
        hits = cache.hits
        await web.get(f"/n/{hood.slug}")
        assert cache.hits == hits  # logged in: always rendered afresh
        path = f"/r/{post.id}/edit"
        saved = await web.submit(
            path,
            {
                "category": "transport",
                "language": "nl",
                "title": "Tweede titel",
                "helpers_needed": "1",
                "when": "flexible",
                "neighbourhood": hood.slug,
                "action": "publish",
            },
            page=path,
        )
        assert saved.status_code == 303
        web.log_out_locally()
        page = (await web.get(f"/n/{hood.slug}")).text
        assert "Tweede titel" in page and "Eerste titel" not in page


def test_entries_expire_and_the_size_stays_bounded() -> None:
    cache = PageCache(seconds=0.05, max_bytes=8000)
    cache.put(("/a", "", "nl"), "x" * 900, {})
    assert cache.get(("/a", "", "nl")) is not None
    time.sleep(0.06)
    assert cache.get(("/a", "", "nl")) is None
    for index in range(20):
        cache.put((f"/p{index}", "", "nl"), "y" * 900, {})
    assert cache._bytes <= 8000
    assert cache.get(("/p19", "", "nl")) is not None
    assert cache.get(("/p0", "", "nl")) is None  # the least recently used went first
    cache.put(("/big", "", "nl"), "z" * 5000, {})
    assert cache.get(("/big", "", "nl")) is None  # too big to keep
    assert not PageCache(seconds=0).enabled
