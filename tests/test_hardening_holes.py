"""Issue 11, the smaller holes (each of these tests failed before its fix):

1. a declined helper offered again, as often as they liked, each time notifying the author;
2. `nosniff` on a few routes only, and no HSTS on an https node;
3. invisible characters stripped so broadly that emoji sequences and Persian or Indic
   text broke, while hidden tag text went through;
4. any two or three letters accepted as a post's language ("xx").

One URL per post and nothing changing on a post that is over: test_hardening_holes_posts.py.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import Response as StarletteResponse
from starlette.routing import Route

from federation.parse import parse_proposal
from node import validation
from node.errors import InvalidFields, InvalidInput
from node.models import HelpPost, Neighbourhood, Notification, Response
from node.services import responses
from node.states import OfferStatus
from node.text import clean_line, clean_text, hashtags
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node
from tests.webclient import Browser, browser


@pytest.fixture
async def hood(database: str) -> Neighbourhood:
    return await factories.neighbourhood("jette-centre")


async def _stored(post: HelpPost) -> tuple[list[tuple[str, str | None]], int]:
    """The responses on `post` (kind, offer status) and how many notifications exist."""
    rows = await Response.filter(post_id=post.id).order_by("created_at", "id")
    return [(r.kind, r.offer_status) for r in rows], await Notification.all().count()


# --- 1. a declined helper -----------------------------------------------------------------


async def test_a_declined_helper_cannot_offer_again(hood: Neighbourhood) -> None:
    author = await factories.account("greet")
    helper, other = await factories.account("jonas"), await factories.account("lotte")
    post = await factories.post(author, hood, helpers_needed=2)
    await responses.decline_helper(author, await factories.offer(post, helper))
    before = await _stored(post)
    with pytest.raises(responses.AlreadyDeclined):
        await responses.offer_help(helper, post, "Toch nog?")
    assert await _stored(post) == before
    # Taking one's own offer back is not being declined: that helper may offer again.
    await responses.withdraw_offer(other, await factories.offer(post, other))
    again = await responses.offer_help(other, post, "Toch wel")
    assert again.offer_status == OfferStatus.OFFERED


async def test_a_released_helper_cannot_offer_again(hood: Neighbourhood) -> None:
    author = await factories.account("greet")
    helper = await factories.account("jonas")
    post = await factories.post(author, hood)
    offer = await factories.offer(post, helper)
    await responses.accept_helper(author, offer)
    await responses.decline_helper(author, offer)  # "Release helper"
    with pytest.raises(responses.AlreadyDeclined):
        await responses.offer_help(helper, post)


async def test_the_declined_helper_is_told_and_a_new_offer_gets_409(database: str) -> None:
    hood = await factories.neighbourhood("jette-centre")
    author = await factories.account("greet")
    helper = await factories.account("jonas", languages=["en"])
    post = await factories.post(author, hood)
    await responses.decline_helper(author, await factories.offer(post, helper))
    path = f"/r/{post.id}"
    async with browser(database) as web:
        await web.log_in_as(helper)
        page = await web.get(path)
        assert 'id="offer-declined"' in page.text
        assert f'action="{path}/offer"' not in page.text  # no "I can help" button
        before = await _stored(post)
        refused = await web.submit(f"{path}/offer", {"body": "Again?"}, page=path)
    assert refused.status_code == 409
    assert "Your offer of help on this post was declined" in refused.text
    assert await _stored(post) == before


async def test_a_declined_remote_helper_makes_no_new_offer_nor_notification(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    post = await factories.post(greet, hood)
    first = remote.note("alice", f"{BASE}/r/{post.id}", "<p>Ik help!</p>")
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", first))
    await node.work()
    offer = await Response.get(object_uri=first["id"])
    assert offer.offer_status == OfferStatus.OFFERED
    await responses.decline_helper(greet, offer)
    await node.work()
    heard = await Notification.filter(recipient_id=greet.id).count()

    # Another reply is kept as a comment, and tells nobody.
    second = remote.note("alice", f"{BASE}/r/{post.id}", "<p>Echt, ik kan!</p>")
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", second))
    # An explicit FEP-0837 offer is refused outright.
    agreement = remote.activity(
        "alice",
        "Offer",
        {
            "type": "Agreement",
            "stipulates": {"type": "Commitment", "satisfies": f"{BASE}/r/{post.id}#primary"},
        },
        content="<p>Nog een keer</p>",
    )
    await node.post_activity(remote, "alice", agreement)
    await node.work()

    reply = await Response.get(object_uri=second["id"])
    assert reply.kind == "comment" and reply.offer_status is None
    assert not await Response.exists(object_uri=agreement["id"])
    assert await Response.filter(post_id=post.id, offer_status=OfferStatus.OFFERED).count() == 0
    assert await Notification.filter(recipient_id=greet.id).count() == heard


# --- 2. security headers on every response ------------------------------------------------


@pytest.fixture
async def https_web(database: str) -> AsyncIterator[Browser]:
    async with browser(database, base_url="https://buren.example") as web:
        yield web


ACTIVITY_JSON = {"accept": "application/activity+json"}


async def _every_route_family(web: Browser) -> dict[str, object]:
    """One response of each kind the node serves, by name."""
    await factories.node_row()
    hood = await factories.neighbourhood("jette-centre")
    author = await factories.account("greet")
    post = await factories.post(author, hood)
    resource = {"resource": "acct:greet@buren.example"}
    return {
        "home": await web.get("/"),
        "post page": await web.get(f"/r/{post.id}"),
        "static file": await web.get("/static/style.css"),
        "webfinger": await web.get("/.well-known/webfinger", params=resource),
        "actor JSON": await web.get("/@greet", headers=ACTIVITY_JSON),
        "instance actor": await web.get("/actor"),
        "post as a Note": await web.get(f"/r/{post.id}", headers=ACTIVITY_JSON),
        "nodeinfo": await web.get("/nodeinfo/2.1"),
        "feed": await web.get("/n/jette-centre/feed.atom"),
        "404": await web.get("/no/such/page"),
        "404 JSON": await web.get("/r/00000000-0000-0000-0000-000000000000", headers=ACTIVITY_JSON),
        "405": await web.get("/logout"),
        "redirect": await web.get("/new"),
        "health": await web.get("/healthz"),
    }


async def test_every_response_says_nosniff_and_hsts_on_an_https_node(https_web: Browser) -> None:
    answers = await _every_route_family(https_web)
    statuses = {name: r.status_code for name, r in answers.items()}  # type: ignore[attr-defined]
    assert statuses["redirect"] == 303 and statuses["404"] == 404 and statuses["405"] == 405
    assert statuses["static file"] == statuses["actor JSON"] == statuses["nodeinfo"] == 200
    for name, response in answers.items():
        headers = response.headers  # type: ignore[attr-defined]
        assert headers.get_list("x-content-type-options") == ["nosniff"], name
        assert headers.get_list("strict-transport-security") == ["max-age=31536000"], name


async def test_no_hsts_on_a_plain_http_node(database: str) -> None:
    async with browser(database, base_url="http://buren.example") as web:
        answers = await _every_route_family(web)
    for name, response in answers.items():
        headers = response.headers  # type: ignore[attr-defined]
        assert headers.get_list("x-content-type-options") == ["nosniff"], name
        assert "strict-transport-security" not in headers, name


async def test_a_server_error_page_carries_the_headers_too() -> None:
    async def broken(request: object) -> StarletteResponse:
        raise RuntimeError("a bug")

    from node.app import NodeApp  # here: its headers are what is under test

    app = NodeApp(public_url="https://buren.example", routes=[Route("/broken", broken)])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://buren.example") as client:
        response = await client.get("/broken")
    assert response.status_code == 500
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["strict-transport-security"] == "max-age=31536000"


# --- 3. invisible characters --------------------------------------------------------------

EMOJI_SEQUENCES = [
    "👨\u200d👩\u200d👧",  # a family: ZWJ
    "🏳\ufe0f\u200d🌈",  # rainbow flag: variation selector and ZWJ
    "❤\ufe0f",
    "👩🏽\u200d💻",  # skin tone modifier
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland: tag letters
    "🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f",  # Wales
    "1\ufe0f\u20e3",  # keycap
]
PERSIAN = ["می\u200cخواهم", "نمی\u200cتوانم", "کتاب\u200cها", "همسایه", "کمک"]
DEVANAGARI = ["नमस्ते", "क्\u200dष", "र्\u200dय", "मदद", "पड़ोसी"]
# Text in these scripts, as people type it: letters, marks, ZWNJ and ZWJ.
SCRIPT_ALPHABET = st.one_of(
    st.characters(min_codepoint=0x0600, max_codepoint=0x06FF),
    st.characters(min_codepoint=0x0900, max_codepoint=0x097F),
    st.sampled_from(["\u200c", "\u200d", "\u200e", "\u200f", "\ufe0f"]),
)
WORDS = st.one_of(
    st.sampled_from(EMOJI_SEQUENCES + PERSIAN + DEVANAGARI),
    st.text(SCRIPT_ALPHABET, min_size=1, max_size=8),
)
REORDERING = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
HIDDEN = REORDERING + "\u200b\ufeff\x00\x1b\x85\ufff9\ud800"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@given(st.lists(WORDS, min_size=1, max_size=8))
def test_emoji_persian_and_devanagari_text_comes_through_unchanged(words: list[str]) -> None:
    line = " ".join(words)
    expected = " ".join(nfc(line).split())
    assert clean_line(line) == expected
    assert clean_text(line) == expected
    assert clean_text("\n".join(words)) == "\n".join(" ".join(nfc(w).split()) for w in words)


@given(
    st.lists(WORDS, min_size=1, max_size=6).map(" ".join),
    st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(HIDDEN)), max_size=6),
)
def test_inserted_direction_overrides_and_hidden_characters_are_removed(
    text: str, inserts: list[tuple[int, str]]
) -> None:
    dirty = text
    for position, char in inserts:
        at = position % (len(dirty) + 1)
        dirty = dirty[:at] + char + dirty[at:]
    # Removed wherever they stand, even between a letter and its mark or inside a flag.
    assert clean_line(dirty) == clean_line(text)
    assert clean_text(dirty) == clean_text(text)
    assert not set(clean_line(dirty)) & set(REORDERING + "\u200b\ufeff\ud800")


@given(st.text(max_size=30), st.text(max_size=30))
def test_a_hidden_tag_message_is_removed_but_flags_stay(before: str, hidden: str) -> None:
    tags = "".join(chr(0xE0000 + ord(c) % 0x80) for c in hidden)  # ASCII as tag characters
    wales = EMOJI_SEQUENCES[5]
    text = f"Croeso {wales} {before}"
    assert clean_line(text[:7] + tags + text[7:]) == clean_line(text)
    assert wales in clean_line(text)


@pytest.mark.parametrize(
    "blank", ["\u200d\u200d\u200d", "\u200c \ufe0f\u200e", "\u3164\u3164\u3164"]
)
async def test_a_title_of_only_joiners_or_fillers_is_no_title(
    hood: Neighbourhood, blank: str
) -> None:
    author = await factories.account("greet")
    with pytest.raises(InvalidFields) as refused:
        await factories.post(author, hood, title=blank)
    assert [e.field for e in refused.value.errors] == ["title"]
    assert await HelpPost.all().count() == 0


def test_hashtags_keep_their_marks_and_joiners() -> None:
    assert hashtags("#नमस्ते दोस्तों #پڑوسی") == ["नमस्ते", "پڑوسی"]
    assert hashtags("#می\u200cخواهم!") == ["می\u200cخواهم"]
    assert hashtags("नमस्ते#नहीं") == []  # after a mark, as after a letter: not a tag


# --- 4. language codes --------------------------------------------------------------------


def test_real_languages_are_known_and_made_up_codes_are_not() -> None:
    for code in ("nl", "fr", "en", "ar", "tr", "fa", "hi", "uk", "zgh", "ary"):
        assert validation.language_tag("language", code) == code
    for code in ("xx", "zz", "qq", "und", "zxx", "mul", "qaa", "nederlands", "n1", ""):
        with pytest.raises(InvalidInput):
            validation.language_tag("language", code)


@given(st.text(max_size=5))
def test_a_language_tag_is_accepted_only_when_it_names_a_known_language(value: str) -> None:
    tag = value.strip().lower()
    try:
        accepted = validation.language_tag("language", value)
    except InvalidInput as refused:
        assert refused.field == "language"
        assert tag not in validation.known_languages()
    else:
        assert accepted == tag and tag in validation.known_languages()


@pytest.mark.parametrize("field", ["language", "second_language"])
async def test_a_post_in_an_unknown_language_is_refused_and_nothing_stored(
    database: str, field: str
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    author = await factories.account("greet", languages=["en"])
    fields = {
        "kind": "request",
        "category": "transport",
        "language": "nl",
        "title": "Sofa naar het containerpark",
        "when": "flexible",
        "neighbourhood": hood.slug,
        "helpers_needed": "1",
        "visibility": "public",
        "action": "publish",
        field: "xx",
    }
    if field == "second_language":
        fields["second_title"] = "Un canapé"
    async with browser(database) as web:
        await web.log_in_as(author)
        refused = await web.submit("/new", fields, page="/new")
        accepted = await web.submit("/new", {**fields, field: "ar"}, page="/new")
    assert refused.status_code == 400
    assert accepted.status_code == 303  # Arabic is a language a neighbour may write in
    [post] = await HelpPost.all()
    assert "ar" in post.languages


def _proposal(content_map: dict[str, object]) -> dict[str, object]:
    actor = "https://peer.example/users/alice"
    return {
        "id": "https://peer.example/notes/1",
        "type": "Note",
        "purpose": "request",
        "attributedTo": actor,
        "content": "<p>Wie helpt?</p>",
        "contentMap": content_map,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }


@given(st.dictionaries(st.text(max_size=12), st.text(max_size=20), max_size=6))
def test_unknown_content_map_languages_are_ignored_not_fatal(content_map: dict[str, str]) -> None:
    parsed = parse_proposal(_proposal(content_map), "https://peer.example/users/alice")
    assert parsed.content_map  # never empty: the object's content stands in
    for tag in parsed.content_map:
        assert tag == "" or (len(tag) <= 8 and tag.split("-")[0] in validation.known_languages())


def test_known_content_map_languages_are_kept_beside_unknown_ones() -> None:
    content_map = {"xx": "<p>?</p>", "nl": "<p>Wie helpt?</p>", "pt-BR": "<p>Quem ajuda?</p>"}
    parsed = parse_proposal(_proposal(content_map), "https://peer.example/users/alice")
    assert list(parsed.content_map) == ["nl", "pt-BR"] and parsed.language == "nl"
