"""RSS 2.0 feeds of help posts, for feed readers and for sites that embed them.

RSS readers treat `<description>` as HTML, so the post's plain text is HTML-escaped
first and then XML-escaped: a reader shows `<script>` as those characters. Titles stay
plain text, as the RSS profile asks. RSS's `<author>` must be an e-mail address, which
a feed never shows, so who posted is `dc:creator`; each item's language is `dc:language`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from web.feeds.items import FeedItem, FeedMeta
from web.feeds.xmltext import add, rfc822, root, serialise

CONTENT_TYPE = "application/rss+xml; charset=utf-8"
ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"


def description_html(item: FeedItem) -> str:
    """The post's text and facts as small, escaped HTML."""
    paragraphs = [
        "<p>" + html.escape(part).replace("\n", "<br>") + "</p>"
        for part in item.description.split("\n\n")
        if part.strip()
    ]
    facts = "<br>".join(
        f"{html.escape(label)}: {html.escape(value)}" for label, value in item.facts if value
    )
    return "".join(paragraphs) + f"<p>{facts}</p>"


def render_rss(meta: FeedMeta, items: Sequence[FeedItem]) -> bytes:
    """The RSS document for `items`, newest first as given."""
    rss = root("rss", {"version": "2.0", "xmlns:atom": ATOM_NS, "xmlns:dc": DC_NS})
    channel = add(rss, "channel")
    add(channel, "title", meta.title)
    add(channel, "link", meta.page_url)
    add(channel, "description", meta.subtitle)
    add(channel, "language", meta.language)
    add(channel, "lastBuildDate", rfc822(meta.updated))
    add(channel, "generator", "Nabuur")
    add(channel, "ttl", "5")  # minutes; the same as the response's cache lifetime
    add(
        channel,
        "atom:link",
        attributes={"href": meta.self_url, "rel": "self", "type": "application/rss+xml"},
    )
    for item in items:
        entry = add(channel, "item")
        add(entry, "title", item.title)
        add(entry, "link", item.url)
        add(entry, "description", description_html(item))
        add(entry, "guid", item.url, {"isPermaLink": "true"})
        add(entry, "pubDate", rfc822(item.published))
        add(entry, "category", item.kind_label)
        add(entry, "category", item.category_label)
        add(entry, "dc:creator", item.byline)
        add(entry, "dc:language", item.language)
    return serialise(rss)
