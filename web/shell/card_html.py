"""A help post's card in a listing: what it shows (`PostCard`) and its HTML in one locale.

Written in Python rather than as a Jinja macro: a neighbourhood page shows forty cards,
and through a macro each cost ~20 µs (Jinja's call machinery, a lookup and an escape per
expression), a fifth of the whole page. Here a card is one f-string (~6 µs). Every value
goes through `escape_text` (markupsafe's escape without a `Markup` object per value),
and the labels are translated once per language and process. A card already written is
not written again (`CardRenderer._written`: its key is the whole card).
Templates call it as `post_card(card)`, like the macro it replaces, and a listing's cards
as `post_cards(cards)`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from gettext import NullTranslations

from jinja2 import Environment
from jinja2.filters import do_truncate
from markupsafe import Markup, escape

from node import uris
from node.i18n import N_
from node.taxonomy import BY_SLUG
from web.shell.template_compiling import escape_text

# What a listing shows of a description; the post's page has all of it.
DESCRIPTION_LENGTH = 280
# What a card is given of a description (`shown_description`): more than Jinja's truncate
# ever reads (it keeps a text of up to DESCRIPTION_LENGTH + its leeway, 5, whole).
DESCRIPTION_KEPT = DESCRIPTION_LENGTH + 20
# Cards kept written per language: a node's listings several times over (a
# neighbourhood page shows forty); at most ~2.5 kB each with its key.
CARDS_KEPT = 1024


def shown_description(description: str) -> str:
    """The part of a description a card can show: a card built with it reads exactly as
    one built with the whole text, and a card kept written holds no more than this."""
    return description[:DESCRIPTION_KEPT]


LABELS = {
    "request": N_("Request"),
    "offer": N_("Offer"),
    "helpers_found": N_("Helpers found"),
    "when": N_("When"),
    "flexible": N_("Flexible"),
    "where": N_("Where"),
    "helpers": N_("Helpers"),
    "posted_by": N_("Posted by"),
    "organisation": N_("Organisation"),
    "places": N_("Places left: %(num)d of %(total)d"),
    "for": N_("for %(client)s"),
}


@dataclass(frozen=True, slots=True)
class PostCard:
    """What a listing shows of a help post, in the visitor's language (built by
    `web.pages.cards`)."""

    id: str
    kind: str
    status: str
    category: str
    title: str
    description: str  # as much as a card shows (`shown_description`)
    language: str
    starts_at: datetime | None
    neighbourhood_name: str
    area_hint: str | None
    helpers_needed: int
    slots_left: int
    author_name: str
    organisation_name: str | None
    on_behalf_label: str | None
    organisation_slug: str | None = None


class CardRenderer:
    """`post_card(card, preview_only=False)` for the templates of one locale."""

    def __init__(
        self,
        env: Environment,
        catalogue: NullTranslations,
        when: Callable[[datetime], str],
        linked: Callable[[str], Markup],
    ) -> None:
        self.env = env
        self.when = when
        self.linked = linked
        # Translations are trusted markup and format strings, as `_()` treats them (a
        # label without variables is formatted now, so "%%" reads "%" as on the pages).
        translated = {key: Markup(catalogue.gettext(text)) for key, text in LABELS.items()}  # noqa: S704
        self.labels = {
            key: label if "%(" in LABELS[key] else label % {} for key, label in translated.items()
        }
        self.categories = {
            slug: (escape(category.icon), escape(catalogue.gettext(category.label)))
            for slug, category in BY_SLUG.items()
        }

        # A card's HTML depends on nothing but the card (every field it shows is in the
        # key) and this renderer's language, so the same card is written once: listings
        # show the same posts to every visitor until one changes, and writing forty cards
        # was a seventh of a neighbourhood page's CPU time.
        self._written = functools.lru_cache(maxsize=CARDS_KEPT)(self._write)

    def __call__(self, card: PostCard, preview_only: bool = False) -> Markup:
        if preview_only:  # a draft being written: seen once, not kept
            return self._write(card, True)
        return self._written(card, False)

    def many(self, cards: Iterable[PostCard]) -> Markup:
        """The cards of a listing in one call (`post_cards(cards)` in the templates): a
        template's call of `post_card` per card costs Jinja's call machinery each time."""
        written = self._written
        return Markup("".join([written(card, False) for card in cards]))  # noqa: S704 - cards

    def _write(self, card: PostCard, preview_only: bool) -> Markup:
        labels = self.labels
        language = escape_text(card.language)
        title = escape_text(card.title)
        icon, category = self.categories[card.category]
        status = card.status
        return Markup(  # noqa: S704 - every value below is escaped
            f'<article class="post post-{escape_text(card.kind)}'
            f'{"" if status == "open" else f" post-{escape_text(status)}"}">\n'
            f'  <p class="meta">\n'
            f'    <span class="kind">'
            f"{labels['request'] if card.kind == 'request' else labels['offer']}</span>\n"
            f'    <span class="category"><span aria-hidden="true">{icon}</span> '
            f"{category}</span>\n"
            f"{self._matched(status)}"
            f"  </p>\n"
            f'  <h3 lang="{language}">'
            f"{title if preview_only else self._link(card.id, title)}</h3>\n"
            f"{self._description(card.description, language)}"
            f'  <dl class="facts">\n'
            f"    <dt>{labels['when']}</dt>\n"
            f"    <dd>{self._when(card.starts_at)}</dd>\n"
            f"    <dt>{labels['where']}</dt>\n"
            f"    <dd>{escape_text(card.neighbourhood_name)}"
            f"{f', {escape_text(card.area_hint)}' if card.area_hint else ''}</dd>\n"
            f"{self._helpers(card)}"
            f"    <dt>{labels['posted_by']}</dt>\n"
            f"    <dd>{self._posted_by(card, preview_only)}</dd>\n"
            f"  </dl>\n"
            f"</article>\n"
        )

    def _link(self, post_id: str, title: str) -> str:
        return f'<a href="{escape_text(uris.post(post_id))}">{title}</a>'

    def _matched(self, status: str) -> str:
        if status != "matched":
            return ""
        return f'    <span class="status">{self.labels["helpers_found"]}</span>\n'

    def _description(self, description: str, language: str) -> str:
        if not description:
            return ""
        short = self.linked(do_truncate(self.env, description, DESCRIPTION_LENGTH))
        return f'  <p class="description" lang="{language}">{short}</p>\n'

    def _when(self, starts_at: datetime | None) -> str:
        return escape_text(self.when(starts_at)) if starts_at else self.labels["flexible"]

    def _helpers(self, card: PostCard) -> str:
        if card.kind != "request":
            return ""
        places = self.labels["places"] % {"num": card.slots_left, "total": card.helpers_needed}
        return f"    <dt>{self.labels['helpers']}</dt>\n    <dd>{places}</dd>\n"

    def _posted_by(self, card: PostCard, preview_only: bool) -> str:
        if not card.organisation_name:
            return escape_text(card.author_name)
        name = escape_text(card.organisation_name)
        if not preview_only and card.organisation_slug:
            href = escape_text(uris.organisation(card.organisation_slug))
            name = f'<a href="{href}">{name}</a>'
        behalf = ""
        if card.on_behalf_label:
            client = self.labels["for"] % {"client": card.on_behalf_label}
            behalf = f' — <span class="behalf">{client}</span>'
        return f'<span class="org-badge">{self.labels["organisation"]}</span> {name}{behalf}'
