"""URLs in what people write here become links: http(s) only, marked, and nothing else."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.linkify import LINK_REL, linkify, normalise
from node.models import Response
from node.services import responses
from tests import factories
from tests.test_reports import file, world
from tests.webclient import Browser, browser


class _Reader(HTMLParser):
    """What a browser makes of the output: its start tags and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.ends: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.ends.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        raise AssertionError(f"comment in output: {data!r}")


def read(output: str) -> _Reader:
    reader = _Reader()
    reader.feed(output)
    reader.close()
    return reader


def links(text: str) -> list[tuple[str, str]]:
    """(href, shown text) of each link in `linkify(text)`."""
    output = linkify(text)
    reader = read(output)
    shown = []
    for tag, _ in reader.tags:
        assert tag == "a"
    parts = output.split("<a ")[1:]
    for part in parts:
        shown.append(html.unescape(part.split(">", 1)[1].split("</a>", 1)[0]))
    return [(attrs["href"] or "", s) for (_, attrs), s in zip(reader.tags, shown, strict=True)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://example.org.", [("https://example.org", "https://example.org")]),
        ("https://example.org, then", [("https://example.org", "https://example.org")]),
        ("(https://example.org/a)", [("https://example.org/a", "https://example.org/a")]),
        (
            "https://en.wikipedia.org/wiki/Foo_(bar)!",
            [
                (
                    "https://en.wikipedia.org/wiki/Foo_(bar)",
                    "https://en.wikipedia.org/wiki/Foo_(bar)",
                )
            ],
        ),
        ("Really? http://a.be/x?", [("http://a.be/x", "http://a.be/x")]),
        ("“https://a.be/x”", [("https://a.be/x", "https://a.be/x")]),
        ("'https://a.be/x':", [("https://a.be/x", "https://a.be/x")]),
        (
            "https://a.be/s?q=sofa&page=2#top",
            [("https://a.be/s?q=sofa&page=2#top", "https://a.be/s?q=sofa&page=2#top")],
        ),
        ("http://localhost:8080/x", [("http://localhost:8080/x", "http://localhost:8080/x")]),
        ("https://bücher.de/ok", [("https://bücher.de/ok", "https://bücher.de/ok")]),
        ("HTTPS://EXAMPLE.ORG", [("HTTPS://EXAMPLE.ORG", "HTTPS://EXAMPLE.ORG")]),
        ("end https://a.be\nnext line", [("https://a.be", "https://a.be")]),
        (
            "two: https://a.be and http://b.be/y.",
            [("https://a.be", "https://a.be"), ("http://b.be/y", "http://b.be/y")],
        ),
    ],
)
def test_urls_become_links_without_the_punctuation_around_them(
    text: str, expected: list[tuple[str, str]]
) -> None:
    assert links(text) == expected
    assert f'rel="{LINK_REL}"' in linkify(text)


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "mailto:jef@example.org",
        "www.example.org",
        "ftp://example.org/file",
        "http://",
        "https:// example.org",
        "xhttps://example.org",
        "http://[broken",
        "http://example.org:99999/",
        "<script>alert(1)</script>",
        '<a href="javascript:alert(1)">x</a>',
    ],
)
def test_other_schemes_and_markup_stay_text(text: str) -> None:
    output = linkify(text)
    assert read(output).tags == []
    assert html.unescape(output) == text


def test_a_quote_ends_the_url_so_no_attribute_can_be_injected() -> None:
    text = 'https://a.be/"onmouseover="alert(1)" <b>x</b>'
    assert links(text) == [("https://a.be/", "https://a.be/")]
    output = linkify(text)
    assert "onmouseover" not in "".join(str(attrs) for _, attrs in read(output).tags)
    assert "<b>" not in output


def test_escaped_entities_are_shown_as_typed() -> None:
    text = "&amp; &lt;script&gt; https://a.be/?x=1&amp;y=2"
    output = linkify(text)
    assert "".join(read(output).text) == text
    assert links(text) == [("https://a.be/?x=1&amp;y=2", "https://a.be/?x=1&amp;y=2")]


def test_line_breaks_are_kept_as_line_breaks() -> None:
    text = "line one https://a.be/\r\nline two\rthree\n\npara"
    assert "".join(read(linkify(text)).text) == "line one https://a.be/\nline two\nthree\n\npara"


# Text with plenty of what makes URLs and markup: schemes, brackets, quotes, entities.
_PIECES = st.sampled_from(
    [
        "http://",
        "https://",
        "HTTP://",
        "javascript:",
        "data:",
        "a.be",
        "bücher.de",
        "[::1]",
        ":8080",
        ":99999",
        "/",
        "?q=1&b=2",
        "#top",
        "(",
        ")",
        "[",
        "]",
        ".",
        ",",
        "!",
        "'",
        '"',
        "“",
        "”",
        "<",
        ">",
        "&amp;",
        "&#x6a;",
        "<script>",
        "<a href=",
        "onmouseover=",
        " ",
        "\n",
        "\r\n",
        "%",
        "@",
        "\u00a0",
    ]
)
TEXTS = st.one_of(
    st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=30).map("".join),
    st.text(),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_any_text_gives_only_marked_http_links_and_loses_nothing(text: str) -> None:
    output = linkify(text)
    reader = read(output)
    for tag, attrs in reader.tags:
        assert tag == "a"
        assert set(attrs) == {"href", "rel"}
        assert attrs["rel"] == LINK_REL
        href = attrs["href"] or ""
        assert href.lower().startswith(("http://", "https://"))
        assert "javascript:" not in href.lower()
    assert reader.ends == ["a"] * len(reader.tags)
    assert "".join(reader.text) == normalise(text)


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_normalise_only_changes_line_breaks_nul_and_surrogates(text: str) -> None:
    kept = normalise(text)
    assert "\r" not in kept and "\x00" not in kept
    assert kept.count("\n") == text.count("\n") + text.count("\r") - text.count("\r\n")


@pytest.fixture
async def web(database: str) -> AsyncIterator[Browser]:
    async with browser(database) as b:
        yield b


async def test_links_in_comments_and_offers_on_the_request_page(web: Browser) -> None:
    hood = await factories.neighbourhood("jette-centre", commune="Jette")
    author = await factories.account("camille")
    post = await factories.post(author, hood)
    path = f"/r/{post.id}"
    await web.log_in_as(author)
    comment = "The commune takes it: https://jette.be/encombrants.\nOr javascript:alert(1)"
    assert (await web.submit(f"{path}/comment", {"body": comment}, page=path)).status_code == 303
    await web.log_in_as(await factories.account("jef"))
    offer = "Saturday (see https://a.be/plan_(v2)) <script>x</script>"
    offered = await web.submit(f"{path}/offer", {"body": offer, "read_guide": "yes"}, page=path)
    assert offered.status_code == 303
    assert await Response.filter(post_id=post.id).count() == 2

    page = (await web.get(path)).text
    assert (
        '<p>The commune takes it: <a href="https://jette.be/encombrants" '
        f'rel="{LINK_REL}">https://jette.be/encombrants</a>.<br>Or javascript:alert(1)</p>'
    ) in page
    assert f'(see <a href="https://a.be/plan_(v2)" rel="{LINK_REL}">' in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    assert 'href="javascript:' not in page


async def test_links_in_a_requests_description_on_its_page_and_card(web: Browser) -> None:
    hood = await factories.neighbourhood("jette-centre", commune="Jette")
    author = await factories.account("camille")
    description = "Details: https://jette.be/plan.\n<b>bold</b> javascript:alert(1)"
    post = await factories.post(
        author,
        hood,
        description=description,
        translations={"fr": {"title": "Canapé", "description": "Voir https://jette.be/fr !"}},
    )
    link = f'<a href="https://jette.be/plan" rel="{LINK_REL}">https://jette.be/plan</a>'
    page = (await web.get(f"/r/{post.id}")).text
    assert f"<p>Details: {link}.<br>&lt;b&gt;bold&lt;/b&gt; javascript:alert(1)</p>" in page
    assert f'Voir <a href="https://jette.be/fr" rel="{LINK_REL}">' in page  # the other language
    listing = (await web.get("/n/jette-centre")).text
    assert f"Details: {link}." in listing
    for html_page in (page, listing):
        assert "<b>bold" not in html_page and 'href="javascript:' not in html_page


async def test_links_in_a_reported_comment_on_the_moderation_page(database: str) -> None:
    w = await world()
    body = "Buy here: https://pills.example/buy?x=1&y=2!"
    spam = await responses.add_comment(w["reporter"], w["post"], body)
    report = (await file(w["author"], "response", str(spam.id))).report
    async with browser(database) as web:
        await web.log_in_as(w["moderator"])
        page = (await web.get(f"/admin/moderation/reports/{report.id}")).text
    assert (
        '<p>Buy here: <a href="https://pills.example/buy?x=1&amp;y=2" '
        f'rel="{LINK_REL}">https://pills.example/buy?x=1&amp;y=2</a>!</p>'
    ) in page
