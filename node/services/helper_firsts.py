"""Firsts of a helper: their first offer in a category (they read its guide before it
goes out), and their first offer in a neighbourhood (its connectors and the post's
team see them marked, to welcome them and to keep an eye out)."""

from __future__ import annotations

from tortoise.expressions import Subquery

from node import raw_sql
from node.models import Account, HelpPost, PostKind, Response, ResponseKind


async def needs_guide(account: Account, category: str) -> bool:
    """Whether `account` has never offered help on a request of `category` (any offer,
    withdrawn or declined too: they were shown the guide then; taking up someone's
    offer of help is not helping)."""
    # Hand-written: every logged-in look at a request asks this (see `post_sql`).
    found = await raw_sql.rows(
        "SELECT 1 FROM responses r JOIN help_posts p ON p.id = r.post_id"
        " WHERE r.author_id = ? AND r.kind = ? AND p.category = ? AND p.kind = ? LIMIT 1",
        [account.id, ResponseKind.OFFER.value, category, PostKind.REQUEST.value],
    )
    return not found


async def first_timers(post: HelpPost) -> set[str]:
    """The ids of the offers on request `post` whose local author offered no help
    earlier on any request of its neighbourhood: their first offer there is on this
    post (all their offers here are marked, should they have withdrawn and offered
    again). One query."""
    on_post = Response.filter(
        post_id=post.id, kind=ResponseKind.OFFER, author_id__isnull=False
    ).values("author_id")
    rows = (
        await Response.filter(
            kind=ResponseKind.OFFER,
            post__neighbourhood_id=post.neighbourhood_id,
            post__kind=PostKind.REQUEST,
            author_id__in=Subquery(on_post),
        )
        .order_by("created_at", "id")
        .values_list("id", "author_id", "post_id")
    )
    first_post: dict[int, str] = {}
    for _, author_id, post_id in rows:
        first_post.setdefault(author_id, str(post_id))
    return {
        str(response_id)
        for response_id, author_id, post_id in rows
        if str(post_id) == str(post.id) and first_post[author_id] == str(post.id)
    }
