"""Feed entries as readers show them: texts, labels and links, the same for every format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from node import uris
from node.config import Settings
from node.i18n import N_, gettext
from node.services.feeds import FeedPost, FeedSource
from node.taxonomy import BY_SLUG

KIND_LABELS = {"request": N_("Request"), "offer": N_("Offer")}
# The same words as the post cards of the pages, so the catalogues already hold them.
FOR_CLIENT = N_("for %(client)s")
FLEXIBLE = N_("Flexible")
WHEN, WHERE, POSTED_BY = N_("When"), N_("Where"), N_("Posted by")


@dataclass(frozen=True, slots=True)
class FeedMeta:
    """The feed itself: what it is called, where it lives, when it last changed."""

    title: str
    subtitle: str
    page_url: str  # the HTML page of the neighbourhood or organisation
    self_url: str  # this feed
    language: str
    updated: datetime


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One post as a feed entry; labels are in the post's language where the node has it."""

    url: str  # the post's page, also its permanent id
    title: str
    description: str
    language: str
    kind: str
    kind_label: str
    category: str
    category_label: str
    byline: str
    place: str  # neighbourhood and public area hint, never the private location
    facts: tuple[tuple[str, str], ...]  # (label, value): when, where, posted by
    starts_at: datetime | None
    ends_at: datetime | None
    published: datetime
    updated: datetime


def label_language(settings: Settings, language: str) -> str:
    """The language to label a post in: its own if the node speaks it, else the node's."""
    return language if language in settings.languages else settings.default_language


def byline(post: FeedPost, locale: str) -> str:
    """Who posted: the organisation (and the client's label), else the display name."""
    if post.organisation_name:
        if post.on_behalf_label:
            client = gettext(locale, FOR_CLIENT) % {"client": post.on_behalf_label}
            return f"{post.organisation_name} — {client}"
        return post.organisation_name
    return post.author_name or ""


def build_items(
    settings: Settings,
    posts: Sequence[FeedPost],
    format_when: Callable[[datetime, str], str],
) -> list[FeedItem]:
    """Entries for `posts`; `format_when(moment, locale)` writes a date for people."""
    items = []
    for post in posts:
        locale = label_language(settings, post.language)
        place = ", ".join(p for p in (post.neighbourhood_name, post.area_hint) if p)
        when = format_when(post.starts_at, locale) if post.starts_at else gettext(locale, FLEXIBLE)
        by = byline(post, locale)
        items.append(
            FeedItem(
                url=uris.absolute(settings, uris.post(post.id)),
                title=post.title,
                description=post.description,
                language=post.language,
                kind=post.kind,
                kind_label=gettext(locale, KIND_LABELS.get(post.kind, post.kind)),
                category=post.category,
                category_label=(
                    gettext(locale, BY_SLUG[post.category].label)
                    if post.category in BY_SLUG
                    else post.category
                ),
                byline=by,
                place=place,
                facts=(
                    (gettext(locale, WHEN), when),
                    (gettext(locale, WHERE), place),
                    (gettext(locale, POSTED_BY), by),
                ),
                starts_at=post.starts_at,
                ends_at=post.ends_at,
                published=post.created_at,
                updated=post.updated_at,
            )
        )
    return items


def build_meta(
    settings: Settings,
    node_name: str,
    source: FeedSource,
    posts: Sequence[FeedPost],
    self_path: str,
) -> FeedMeta:
    """The feed's title and links; `updated` is its newest post's (stable between polls)."""
    language = settings.default_language
    subtitle = source.description.get(language) or next(
        iter(source.description.values()), source.name
    )
    return FeedMeta(
        title=f"{source.name} · {node_name}",
        subtitle=subtitle or source.name,
        page_url=uris.absolute(settings, source.path),
        self_url=uris.absolute(settings, self_path),
        language=language,
        updated=max((p.updated_at for p in posts), default=source.created_at),
    )
