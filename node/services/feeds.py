"""What the public feeds (RSS, Atom, iCalendar) of a neighbourhood or organisation list.

Feeds are read by anyone, cached by proxies and copied into readers we do not control,
so they hold public posts only, whoever asks. Posts are copied into `FeedPost`, which
has no field for the private location and names a staff member nowhere: a reader of a
feed can then only ever see what the post's public page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from node import uris
from node.models import HelpPost, Visibility
from node.services.neighbourhoods import get_neighbourhood
from node.services.organisations import get_organisation
from node.services.removals import listed_filter
from node.states import PostStatus
from node.timeutil import as_utc

FEED_LIMIT = 50
LISTED = (PostStatus.OPEN, PostStatus.MATCHED)


@dataclass(frozen=True, slots=True)
class FeedPost:
    """The public part of a help post, as a feed shows it (in the language it was written)."""

    id: str
    kind: str
    status: str
    category: str
    title: str
    description: str
    language: str
    neighbourhood_name: str
    area_hint: str | None
    # Posts made for an organisation are the organisation's: then no person is named.
    author_name: str | None
    organisation_name: str | None
    on_behalf_label: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class FeedSource:
    """The neighbourhood or organisation a feed belongs to."""

    name: str
    path: str  # its local path, e.g. /n/jette-centre
    description: dict[str, str]  # by language
    created_at: datetime


def _feed_post(post: HelpPost) -> FeedPost:
    org = post.organisation
    return FeedPost(
        id=str(post.id),
        kind=post.kind,
        status=post.status,
        category=post.category,
        title=post.title,
        description=post.description,
        language=post.language,
        neighbourhood_name=post.neighbourhood.name,
        area_hint=post.area_hint,
        author_name=None if org else post.author.display_name,
        organisation_name=org.name if org else None,
        on_behalf_label=post.on_behalf_label if org else None,
        starts_at=as_utc(post.starts_at) if post.starts_at else None,
        ends_at=as_utc(post.ends_at) if post.ends_at else None,
        created_at=as_utc(post.created_at),
        updated_at=as_utc(post.updated_at),
    )


async def _public_posts(*, dated: bool, limit: int, **filters: object) -> list[FeedPost]:
    # Public is spelled out rather than taken from visible_posts_filter(None): a feed must
    # stay public-only even if anonymous visitors are one day shown more on the pages.
    query = HelpPost.filter(
        listed_filter(), visibility=Visibility.PUBLIC, status__in=LISTED, **filters
    )
    if dated:
        query = query.filter(starts_at__isnull=False)
    posts = (
        await query.order_by("-created_at", "-id")
        .limit(limit)
        .select_related("organisation", "author", "neighbourhood")
    )
    return [_feed_post(post) for post in posts]


async def neighbourhood_feed(
    slug: str, *, dated: bool = False, limit: int = FEED_LIMIT
) -> tuple[FeedSource, list[FeedPost]]:
    """The neighbourhood `slug` and its public open and matched posts, newest first.

    With `dated`, only posts with a start time (for the calendar). NotFound for an
    unknown slug.
    """
    hood = await get_neighbourhood(slug)
    source = FeedSource(
        name=hood.name,
        path=uris.neighbourhood(hood.slug),
        description=dict(hood.description),
        created_at=as_utc(hood.created_at),
    )
    return source, await _public_posts(dated=dated, limit=limit, neighbourhood_id=hood.id)


async def organisation_feed(
    slug: str, *, dated: bool = False, limit: int = FEED_LIMIT
) -> tuple[FeedSource, list[FeedPost]]:
    """The organisation `slug` and the public open and matched posts made for it."""
    org = await get_organisation(slug)
    source = FeedSource(
        name=org.name,
        path=uris.organisation(org.slug),
        description=dict(org.description),
        created_at=as_utc(org.created_at),
    )
    return source, await _public_posts(dated=dated, limit=limit, organisation_id=org.id)
