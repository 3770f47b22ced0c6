"""Listings of open requests and offers: what neighbourhood, home and profile pages show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from node.errors import InvalidInput
from node.i18n import N_
from node.models import Account, HelpPost, Neighbourhood, PostKind
from node.services.removals import listed_filter
from node.services.visibility import visible_posts_filter
from node.states import PostStatus
from node.taxonomy import BY_SLUG

# What a listing shows of a post: no keys or hashes of the author come along.
CARD_FIELDS = {
    "id": "id",
    "kind": "kind",
    "status": "status",
    "category": "category",
    "title": "title",
    "description": "description",
    "language": "language",
    "translations": "translations",
    "starts_at": "starts_at",
    "area_hint": "area_hint",
    "helpers_needed": "helpers_needed",
    "on_behalf_label": "on_behalf_label",
    "author_name": "author__display_name",
    "organisation_name": "organisation__name",
    "organisation_slug": "organisation__slug",
    "neighbourhood_name": "neighbourhood__name",
}


def in_language(row: dict[str, Any], locale: str) -> dict[str, Any]:
    """A post read as plain columns (`title`, `description`, `on_behalf_label`,
    `language`, `translations`), its texts put in `locale` where the author wrote them
    (as `HelpPost.text_in` and `label_in` do for a model); `language` says which."""
    other = (row.get("translations") or {}).get(locale)
    if other and locale != row["language"]:
        row["title"] = other.get("title") or row["title"]
        row["description"] = other.get("description", "")
        row["on_behalf_label"] = other.get("on_behalf_label") or row.get("on_behalf_label")
        row["language"] = locale
    return row


async def _open_posts(
    neighbourhood: Neighbourhood | None,
    viewer: Account | None,
    *,
    kind: str | None = None,
    category: str | None = None,
    starts_between: tuple[datetime, datetime] | None = None,
    flexible_only: bool = False,
    limit: int = 50,
    visible: Q | None = None,
    **match: object,
) -> QuerySet[HelpPost]:
    """Open and matched posts `viewer` may see, newest first.

    Filters: `kind`, `category`, a start time in `starts_between` or none at all
    (`flexible_only`), and column values in `match` (e.g. `organisation_id=3`).
    `visible`: `visible_posts_filter(viewer)` when the caller has it already.
    """
    query = HelpPost.filter(
        visible if visible is not None else await visible_posts_filter(viewer),
        # Moderation: hidden posts and suspended authors never; silenced authors only
        # on their own profile (the listing of one author).
        listed_filter(include_silenced="author_id" in match),
        status__in=[PostStatus.OPEN, PostStatus.MATCHED],
        **match,
    )
    if neighbourhood is not None:
        query = query.filter(neighbourhood_id=neighbourhood.id)
    if kind:
        if kind not in (PostKind.REQUEST, PostKind.OFFER):
            raise InvalidInput("kind", N_("expected one of %(allowed)s"), allowed="request, offer")
        query = query.filter(kind=kind)
    if category:
        if category not in BY_SLUG:
            raise InvalidInput("category", N_("choose one of the categories"))
        query = query.filter(category=category)
    if starts_between is not None:
        query = query.filter(starts_at__gte=starts_between[0], starts_at__lt=starts_between[1])
    elif flexible_only:
        query = query.filter(starts_at=None)
    return query.order_by("-created_at").limit(limit)


async def list_open_posts(
    neighbourhood: Neighbourhood | None, viewer: Account | None, **filters: Any
) -> list[HelpPost]:
    """The posts of `_open_posts` as models, with author, organisation and neighbourhood."""
    query = await _open_posts(neighbourhood, viewer, **filters)
    return await query.select_related("organisation", "author", "neighbourhood")


async def open_card_rows(
    neighbourhood: Neighbourhood | None, viewer: Account | None, **filters: Any
) -> list[dict]:
    """The posts of `_open_posts` as plain rows of what a card shows (listings are hot)."""
    query = await _open_posts(neighbourhood, viewer, **filters)
    return await query.values(**CARD_FIELDS)


async def open_card_rows_per_kind(
    neighbourhood: Neighbourhood | None,
    viewer: Account | None,
    kinds: list[str],
    **filters: Any,
) -> dict[str, list[dict]]:
    """`open_card_rows` for each of `kinds`, the viewer's visibility filter worked out once
    (a logged-in viewer's costs a statement: a page of both kinds asks it once, not twice)."""
    visible = await visible_posts_filter(viewer)
    found = {}
    for kind in kinds:
        query = await _open_posts(neighbourhood, viewer, kind=kind, visible=visible, **filters)
        found[kind] = await query.values(**CARD_FIELDS)
    return found


async def open_counts(viewer: Account | None) -> dict[int, int]:
    """Open posts per neighbourhood id that `viewer` may see."""
    rows = (
        await HelpPost.filter(
            await visible_posts_filter(viewer), listed_filter(), status=PostStatus.OPEN
        )
        .group_by("neighbourhood_id")
        .annotate(n=Count("id"))
        .values_list("neighbourhood_id", "n")
    )
    return dict(rows)
