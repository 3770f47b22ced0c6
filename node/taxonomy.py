"""The fixed taxonomy of help categories, with translatable labels and icons.

Slugs are stable identifiers: they are stored, appear in URLs and in published objects
(as the category's URI and hashtag), so a slug is never renamed, only added. Published
posts also carry the category's hashtag in their own languages (`hashtag`).
"""

from __future__ import annotations

from dataclasses import dataclass

from node.i18n import N_, SUPPORTED_LANGUAGES, translations
from node.text import camel_hashtag


@dataclass(frozen=True, slots=True)
class Category:
    slug: str
    label: str  # English source text, translated through the message catalogues
    icon: str  # a single emoji: no image files, no web fonts


CATEGORIES: tuple[Category, ...] = (
    Category("shopping", N_("Shopping and errands"), "🛒"),
    Category("transport", N_("Transport"), "🚗"),
    Category("pets", N_("Pets"), "🐕"),
    Category("diy", N_("Odd jobs and DIY"), "🔧"),
    Category("garden", N_("Garden"), "🌱"),
    Category("cleaning", N_("Cleaning"), "🧹"),
    Category("meals", N_("Meals"), "🍲"),
    Category("company", N_("Company and visits"), "☕"),
    Category("paperwork", N_("Paperwork"), "📄"),
    Category("lending", N_("Lending and borrowing"), "🔁"),
    Category("language", N_("Language and translation"), "💬"),
    Category("digital", N_("Digital help"), "📱"),
    Category("childcare", N_("Childcare"), "🧸"),
    Category("other", N_("Other"), "✳️"),
)

BY_SLUG: dict[str, Category] = {c.slug: c for c in CATEGORIES}


def category(slug: str) -> Category:
    """The category for `slug`; raises KeyError for an unknown one."""
    return BY_SLUG[slug]


def hashtag(slug: str, locale: str) -> str | None:
    """The category's hashtag in `locale` (without "#"), made from its translated label
    ("Boodschappen en klusjes buitenshuis" gives "BoodschappenEnKlusjesBuitenshuis");
    None for "other", which says nothing as a tag, and for languages the node has no
    labels in (a post in German or Arabic). The slug itself ("#shopping") is the tag
    that stays the same in every language."""
    if slug == "other" or slug not in BY_SLUG or locale not in SUPPORTED_LANGUAGES:
        return None
    return camel_hashtag(translations(locale).gettext(BY_SLUG[slug].label)) or None
