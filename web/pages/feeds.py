"""Feed routes: RSS, Atom and iCalendar for each neighbourhood and organisation.

Feeds are the same for everyone (public posts only, in the language they were written),
so they may be cached by anyone for a few minutes; readers poll them often.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from node import uris
from node.config import Settings
from node.services import feeds
from node.services.feeds import FeedPost, FeedSource
from web.feeds import atom, ical, rss
from web.feeds.items import build_items, build_meta

Loader = Callable[..., Awaitable[tuple[FeedSource, list[FeedPost]]]]

HEADERS = {
    "cache-control": "public, max-age=300",
    # A feed opened in a browser is shown as a document: it may load and run nothing.
    "content-security-policy": "default-src 'none'; sandbox",
}

_FORMATS = {
    "rss": (rss.render_rss, rss.CONTENT_TYPE),
    "atom": (atom.render_atom, atom.CONTENT_TYPE),
    "ics": (ical.render_calendar, ical.CONTENT_TYPE),
}


def feed_links(settings: Settings, actor_path: str, name: str) -> list[tuple[str, str, str]]:
    """The `feeds` context of `_feed_links.html`: (type, title, href) for RSS and Atom."""
    return [
        (
            "application/rss+xml",
            f"{name} (RSS)",
            uris.absolute(settings, uris.feed(actor_path, "rss")),
        ),
        (
            "application/atom+xml",
            f"{name} (Atom)",
            uris.absolute(settings, uris.feed(actor_path, "atom")),
        ),
    ]


async def _serve(request: Request, load: Loader, fmt: str) -> Response:
    settings: Settings = request.app.state.settings
    renderer = request.app.state.renderer
    source, posts = await load(request.path_params["slug"], dated=fmt == "ics")
    self_path = uris.calendar(source.path) if fmt == "ics" else uris.feed(source.path, fmt)
    node_name = (await request.app.state.profile_cache.get()).name
    meta = build_meta(settings, node_name, source, posts, self_path)
    items = build_items(settings, posts, renderer.format_when)
    render, content_type = _FORMATS[fmt]
    return Response(render(meta, items), media_type=content_type, headers=HEADERS)


async def neighbourhood_rss(request: Request) -> Response:
    return await _serve(request, feeds.neighbourhood_feed, "rss")


async def neighbourhood_atom(request: Request) -> Response:
    return await _serve(request, feeds.neighbourhood_feed, "atom")


async def neighbourhood_calendar(request: Request) -> Response:
    return await _serve(request, feeds.neighbourhood_feed, "ics")


async def organisation_rss(request: Request) -> Response:
    return await _serve(request, feeds.organisation_feed, "rss")


async def organisation_atom(request: Request) -> Response:
    return await _serve(request, feeds.organisation_feed, "atom")


async def organisation_calendar(request: Request) -> Response:
    return await _serve(request, feeds.organisation_feed, "ics")
