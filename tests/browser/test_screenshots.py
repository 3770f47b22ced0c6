"""Every main page in every language, at phone and desktop width, under the node's CSP.

Screenshots land in test-artefacts/screenshots/ (named like `home-fr-375`) for a human
to look at; the tests check what a machine can: the page's language, that nothing is
fetched from anywhere but the node, that the CSP blocks nothing the page needs, and that
nothing scrolls sideways on a 320 px screen.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import LANGUAGES, NARROWEST, PAGES, MainPage, cases, screenshot

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("main", "lang", "width"), cases())
def test_page_renders_in_the_visitors_language(
    visit: Any, main: MainPage, lang: str, width: int
) -> None:
    tab = visit(lang, width, user=main.user)
    tab.goto(main.path, main.status)
    screenshot(tab.page, f"{main.name}-{lang}-{width}")

    assert tab.html_lang() == lang
    assert tab.foreign_requests() == [], "the page fetched something from another host"
    assert tab.csp_violations() == [], "the Content-Security-Policy blocked part of the page"


@pytest.mark.parametrize(
    ("main", "lang"),
    [pytest.param(m, lang, id=f"{m.name}-{lang}") for m in PAGES for lang in LANGUAGES],
)
def test_no_horizontal_scrolling_at_320px(visit: Any, main: MainPage, lang: str) -> None:
    tab = visit(lang, NARROWEST, user=main.user)
    tab.goto(main.path, main.status)
    scroll_width = tab.page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > NARROWEST:
        screenshot(tab.page, f"{main.name}-{lang}-{NARROWEST}")
        wide = tab.page.evaluate(
            """(limit) => [...document.querySelectorAll('body *')]
                .filter((e) => e.getBoundingClientRect().right > limit)
                .slice(0, 10)
                .map((e) => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))""",
            NARROWEST,
        )
        # A word too long for its box overflows it without widening the box.
        words = tab.page.evaluate(
            """(limit) => {
                const found = [];
                const clipped = (e) => e && (getComputedStyle(e).clip !== 'auto'
                    || clipped(e.parentElement));  // text only for screen readers
                const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
                for (let text; (text = walk.nextNode()) && found.length < 10; ) {
                    const range = document.createRange();
                    range.selectNodeContents(text);
                    const rects = [...range.getClientRects()];
                    if (rects.some((r) => r.right > limit) && !clipped(text.parentElement)) {
                        found.push(text.parentElement.tagName.toLowerCase() + ': '
                            + text.data.trim().slice(0, 80));
                    }
                }
                return found;
            }""",
            NARROWEST,
        )
        path = urlsplit(tab.page.url).path
        pytest.fail(
            f"{path} is {scroll_width} px wide on a {NARROWEST} px screen;"
            f" elements that stick out: {wide}; text that sticks out: {words}",
            pytrace=False,
        )
