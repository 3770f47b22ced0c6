"""Atom 1.0 feeds of help posts: like the RSS feeds, with unambiguous plain-text content.

Atom says what its text is (`type="text"`), so titles and descriptions are written as
they are, escaped once by the XML writer. Each entry carries its post's language as
`xml:lang`.
"""

from __future__ import annotations

from collections.abc import Sequence

from web.feeds.items import FeedItem, FeedMeta
from web.feeds.xmltext import XML_LANG, add, rfc3339, root, serialise

CONTENT_TYPE = "application/atom+xml; charset=utf-8"
ATOM_NS = "http://www.w3.org/2005/Atom"


def content_text(item: FeedItem) -> str:
    """The post's text followed by its facts (when, where, who), one per line."""
    facts = "\n".join(f"{label}: {value}" for label, value in item.facts if value)
    return f"{item.description}\n\n{facts}" if item.description else facts


def render_atom(meta: FeedMeta, items: Sequence[FeedItem]) -> bytes:
    """The Atom document for `items`, newest first as given."""
    feed = root("feed", {"xmlns": ATOM_NS, XML_LANG: meta.language})
    # The feed's own URL is a stable, unique id for it.
    add(feed, "id", meta.self_url)
    add(feed, "title", meta.title, {"type": "text"})
    add(feed, "subtitle", meta.subtitle, {"type": "text"})
    add(feed, "updated", rfc3339(meta.updated))
    add(
        feed,
        "link",
        attributes={"rel": "self", "type": "application/atom+xml", "href": meta.self_url},
    )
    add(feed, "link", attributes={"rel": "alternate", "type": "text/html", "href": meta.page_url})
    add(feed, "generator", "Nabuur")
    for item in items:
        entry = add(feed, "entry", attributes={XML_LANG: item.language})
        add(entry, "id", item.url)
        add(entry, "title", item.title, {"type": "text"})
        add(entry, "link", attributes={"rel": "alternate", "type": "text/html", "href": item.url})
        add(entry, "published", rfc3339(item.published))
        add(entry, "updated", rfc3339(item.updated))
        author = add(entry, "author")
        add(author, "name", item.byline)
        add(entry, "category", attributes={"term": item.kind, "label": item.kind_label})
        add(entry, "category", attributes={"term": item.category, "label": item.category_label})
        add(entry, "content", content_text(item), {"type": "text"})
    return serialise(feed)
