"""What a listing shows of a help post, in the visitor's language."""

from __future__ import annotations

from node.models import HelpPost
from node.services.listings import in_language
from node.services.responses import accepted_counts, places_left
from web.shell.card_html import PostCard, shown_description


async def cards_from_rows(rows: list[dict], locale: str) -> list[PostCard]:
    """Cards from `listings.open_card_rows` rows (no model objects: listings are hot);
    each row holds its post's accepted helpers."""
    cards = []
    for row in rows:
        texts = in_language(dict(row), locale)
        title, description, language = texts["title"], texts["description"], texts["language"]
        label = texts["on_behalf_label"]
        cards.append(
            PostCard(
                id=str(row["id"]),
                kind=row["kind"],
                status=row["status"],
                category=row["category"],
                title=title,
                description=shown_description(description),
                language=language,
                starts_at=row["starts_at"],
                neighbourhood_name=row["neighbourhood_name"],
                area_hint=row["area_hint"],
                helpers_needed=row["helpers_needed"],
                slots_left=places_left(row["helpers_needed"], row["accepted"]),
                author_name=row["author_name"],
                organisation_name=row["organisation_name"],
                on_behalf_label=label,
                organisation_slug=row["organisation_slug"],
            )
        )
    return cards


async def build_cards(
    posts: list[HelpPost], locale: str, accepted: dict | None = None
) -> list[PostCard]:
    """Cards for `posts`; needs `author`, `organisation` and `neighbourhood` fetched.

    `accepted` (helpers accepted per post id) is counted here unless the caller has it.
    """
    if accepted is None:
        accepted = await accepted_counts([p.id for p in posts])
    cards = []
    for post in posts:
        title, description, language = post.text_in(locale)
        cards.append(
            PostCard(
                id=str(post.id),
                kind=post.kind,
                status=post.status,
                category=post.category,
                title=title,
                description=shown_description(description),
                language=language,
                starts_at=post.starts_at,
                neighbourhood_name=post.neighbourhood.name,
                area_hint=post.area_hint,
                helpers_needed=post.helpers_needed,
                slots_left=places_left(post.helpers_needed, accepted.get(post.id, 0)),
                author_name=post.author.display_name,
                organisation_name=post.organisation.name if post.organisation else None,
                on_behalf_label=post.label_in(language),
                organisation_slug=post.organisation.slug if post.organisation else None,
            )
        )
    return cards
