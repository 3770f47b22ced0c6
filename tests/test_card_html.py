"""A listing's card, written in Python (`web.shell.card_html`): whatever people type into
a post, its card shows it as text, in the right places, with the labels of the page's
language, and never as markup."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.filters import do_truncate

from node import uris
from node.config import load_settings
from node.taxonomy import BY_SLUG
from web.shell.card_html import DESCRIPTION_LENGTH, PostCard, shown_description
from web.shell.rendering import Renderer

# What the card itself writes; anything else would have come from what people typed.
CARD_TAGS = {"article", "p", "span", "h3", "a", "dl", "dt", "dd"}
CARD_ATTRIBUTES = {"class", "lang", "href", "aria-hidden"}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return load_renderer()


def load_renderer() -> Renderer:
    return Renderer(load_settings({"NABUUR_NAME": "Buren"}))


class Parsed(HTMLParser):
    """The card's elements, with the text inside each element kind."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, dict[str, str | None]]] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, str] = {}
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = (tag, dict(attrs))
        self.elements.append(element)
        self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1][0] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        for tag, attributes in self.open:
            for key in {tag, attributes.get("class") or tag}:
                self.text[key] = self.text.get(key, "") + data


def card(**changes: object) -> PostCard:
    values: dict = {
        "id": "17",
        "kind": "request",
        "status": "open",
        "category": next(iter(BY_SLUG)),
        "title": "Sofa to the recycling park",
        "description": "Two people, one hour.",
        "language": "nl",
        "starts_at": None,
        "neighbourhood_name": "Molenbeek",
        "area_hint": "near the canal",
        "helpers_needed": 3,
        "slots_left": 2,
        "author_name": "Ann",
        "organisation_name": None,
        "on_behalf_label": None,
        "organisation_slug": None,
    }
    values.update(changes)
    return PostCard(**values)


# Text people may type: markup, entities, quotes, format directives, line breaks, URLs.
typed = st.text(
    alphabet=st.sampled_from(list("<>&\"'%{}()/:=ab é\n\t")) | st.characters(codec="utf-8"),
    min_size=1,
    max_size=60,
).filter(lambda text: text.strip() and "://" not in text)


@settings(max_examples=300, deadline=None)
@given(
    title=typed,
    description=typed,
    author=typed,
    organisation=typed,
    behalf=typed,
    area=typed,
    place=typed,
    kind=st.sampled_from(["request", "offer"]),
    status=st.sampled_from(["open", "matched"]),
    locale=st.sampled_from(["nl", "fr", "en"]),
)
def test_whatever_people_type_stays_text(
    renderer: Renderer,
    title: str,
    description: str,
    author: str,
    organisation: str,
    behalf: str,
    area: str,
    place: str,
    kind: str,
    status: str,
    locale: str,
) -> None:
    post_card = renderer.environments[locale].globals["post_card"]
    shown = card(
        title=title,
        description=description,
        author_name=author,
        organisation_name=organisation,
        organisation_slug="buurthuis",
        on_behalf_label=behalf,
        area_hint=area,
        neighbourhood_name=place,
        kind=kind,
        status=status,
    )
    parsed = Parsed(str(post_card(shown)))

    assert {tag for tag, _ in parsed.elements} <= CARD_TAGS
    assert {name for _, attributes in parsed.elements for name in attributes} <= CARD_ATTRIBUTES
    links = [attributes["href"] for tag, attributes in parsed.elements if tag == "a"]
    assert links == [uris.post("17"), uris.organisation("buurthuis")]
    assert parsed.text["h3"] == title
    env = renderer.environments[locale]
    assert parsed.text["description"] == do_truncate(env, description, DESCRIPTION_LENGTH)
    assert parsed.text["behalf"].endswith(behalf)
    dd = parsed.text["dd"]
    assert f"{place}, {area}" in dd and organisation in dd
    assert (
        f"post post-{kind}" + ("" if status == "open" else f" post-{status}")
        == (parsed.elements[0][1]["class"])
    )


@pytest.mark.parametrize(
    ("locale", "kind_label", "places"),
    [
        ("nl", "Vraag", "Nog vrije plaatsen: 2 van 3"),
        ("fr", "Demande", "Places libres\xa0: 2 sur 3"),
        ("en", "Request", "Places left: 2 of 3"),
    ],
)
def test_labels_are_in_the_pages_language(
    renderer: Renderer, locale: str, kind_label: str, places: str
) -> None:
    html = str(renderer.environments[locale].globals["post_card"](card()))
    parsed = Parsed(html)
    assert parsed.text["kind"] == kind_label
    assert places in parsed.text["dd"]
    category = BY_SLUG[card().category]
    assert (
        parsed.text["category"]
        .strip()
        .endswith(renderer.environments[locale].globals["post_card"].categories[category.slug][1])
    )


def test_a_dated_card_shows_its_date_and_an_offer_has_no_helpers_line(renderer: Renderer) -> None:
    post_card = renderer.environments["en"].globals["post_card"]
    starts = datetime(2026, 12, 12, 9, 30, tzinfo=UTC)
    dated = Parsed(str(post_card(card(starts_at=starts))))
    assert renderer.format_when(starts, "en") in dated.text["dd"]
    offer = Parsed(str(post_card(card(kind="offer"))))
    assert "Helpers" not in offer.text["dt"] and "Places left" not in offer.text["dd"]
    assert "Flexible" in offer.text["dd"]


def test_a_preview_links_nowhere_and_urls_in_a_description_become_links(
    renderer: Renderer,
) -> None:
    post_card = renderer.environments["en"].globals["post_card"]
    shown = card(
        description="Details on https://example.org/sofa?a=1&b=2 — thanks",
        organisation_name="Buurthuis",
        organisation_slug="buurthuis",
        on_behalf_label="Mrs <Peeters>",
    )
    preview = Parsed(str(post_card(shown, preview_only=True)))
    assert [tag for tag, _ in preview.elements if tag == "a"] == ["a"]  # the URL only
    listed = Parsed(str(post_card(shown)))
    links = [attributes["href"] for tag, attributes in listed.elements if tag == "a"]
    assert links == [
        uris.post("17"),
        "https://example.org/sofa?a=1&b=2",
        uris.organisation("buurthuis"),
    ]
    assert listed.text["behalf"] == "for Mrs <Peeters>"


# A change to any one field a card shows, as a listing sees one after an edit or answer.
CHANGES = {
    "id": "18",
    "kind": "offer",
    "status": "matched",
    "category": list(BY_SLUG)[-1],
    "title": "Dog walk",
    "description": "Every morning.",
    "language": "fr",
    "starts_at": datetime(2026, 12, 12, 9, 30, tzinfo=UTC),
    "neighbourhood_name": "Laeken",
    "area_hint": None,
    "helpers_needed": 4,
    "slots_left": 1,
    "author_name": "Bea",
    "organisation_name": "Buurthuis",
    "on_behalf_label": "Mrs Peeters",
    "organisation_slug": "buurthuis",
}


@settings(max_examples=200, deadline=None)
@given(
    changed=st.lists(st.sampled_from(sorted(CHANGES)), unique=True, max_size=4),
    preview=st.booleans(),
    locale=st.sampled_from(["nl", "fr", "en"]),
)
def test_a_card_written_before_is_written_again_when_anything_on_it_changed(
    renderer: Renderer, changed: list[str], preview: bool, locale: str
) -> None:
    """Cards are written once per language (`CardRenderer._written`); what a listing
    shows is still what a renderer that never wrote a card before writes."""
    post_card = renderer.environments[locale].globals["post_card"]
    fresh = load_renderer().environments[locale].globals["post_card"]
    before = card()
    after = card(**{field: CHANGES[field] for field in changed})
    assert post_card(before, preview) == fresh(before, preview)
    assert post_card(after, preview) == fresh(after, preview)
    hits = post_card._written.cache_info().hits
    assert post_card(before, preview) == fresh(before, preview)
    # The same listed card is not written again; a draft's preview is never kept.
    assert post_card._written.cache_info().hits == hits + (not preview)


@settings(max_examples=200, deadline=None)
@given(
    description=st.text(alphabet=st.sampled_from(list("ab <&é\n")), max_size=700),
    locale=st.sampled_from(["nl", "fr", "en"]),
)
def test_a_card_given_the_shown_part_of_a_description_reads_as_with_all_of_it(
    renderer: Renderer, description: str, locale: str
) -> None:
    post_card = renderer.environments[locale].globals["post_card"]
    whole = post_card(card(description=description))
    assert post_card(card(description=shown_description(description))) == whole
    assert len(shown_description(description)) <= DESCRIPTION_LENGTH + 20


def test_a_helper_accepted_shows_on_the_card_at_once(renderer: Renderer) -> None:
    post_card = renderer.environments["en"].globals["post_card"]
    assert "Places left: 2 of 3" in post_card(card(slots_left=2))
    assert "Places left: 1 of 3" in post_card(card(slots_left=1))
    assert "Places left: 2 of 3" in post_card(card(slots_left=2))


def test_a_listing_in_one_call_reads_as_its_cards_one_by_one(renderer: Renderer) -> None:
    env = renderer.environments["fr"]
    cards = [card(id=str(n), title=f"<Post {n}>", slots_left=n % 3) for n in range(5)]
    assert env.globals["post_cards"](cards) == "".join(env.globals["post_card"](c) for c in cards)
    assert env.globals["post_cards"]([]) == ""
