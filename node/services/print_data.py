"""What the printed window cards, posters and request sheets show, gathered from the
models: public data only (see `node.printing`).

A neighbourhood's card is public like its page, but not for an archived neighbourhood
(it takes no new posts: a card would send people to a dead end). A request's sheet is
for the people who manage the request (`permissions.can_manage_post`), and never
carries the private address or the client's label: `RequestPrint` has no field for
them, and the sheet shows the neighbourhood and commune rather than the area hint.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID
from zoneinfo import ZoneInfo

from node import uris
from node.config import Settings
from node.errors import NotFound, PermissionDenied
from node.models import Account, HelpPost, Neighbourhood, PostKind
from node.printing.data import NeighbourhoodPrint, OfflineContact, PostText, RequestPrint
from node.services import neighbourhoods, posts, removals
from node.services.permissions import can_manage_post
from node.services.responses import accepted_counts
from node.timeutil import utcnow


def contact_of(hood: Neighbourhood) -> OfflineContact:
    return OfflineContact(phone=hood.help_phone, office=hood.help_office, hours=hood.help_hours)


def handle_of(settings: Settings, hood: Neighbourhood) -> str:
    """The neighbourhood's fediverse handle, as its page shows it."""
    return f"@{hood.slug}@{settings.domain}"


async def neighbourhood_print(settings: Settings, slug: str, node_name: str) -> NeighbourhoodPrint:
    """A card's or poster's content; NotFound for an unknown or archived neighbourhood."""
    hood = await neighbourhoods.get_neighbourhood(slug)
    if hood.archived_at is not None:
        raise NotFound("an archived neighbourhood has no window card")
    return NeighbourhoodPrint(
        slug=hood.slug,
        name=hood.name,
        commune=hood.commune,
        url=uris.absolute(settings, uris.neighbourhood(hood.slug)),
        handle=handle_of(settings, hood),
        contact=contact_of(hood),
        node_name=node_name,
    )


async def printable_post(viewer: Account, post_id: str | UUID) -> HelpPost:
    """The post whose sheet `viewer` may print: NotFound when they may not see it (or a
    moderator removed it), PermissionDenied when they see it but do not manage it."""
    post = await posts.get_post(post_id, viewer)
    if removals.is_removed(post):
        raise NotFound("a removed post is not printed")
    if not await can_manage_post(viewer, post):
        raise PermissionDenied("only the people who manage a request print its sheet")
    return post


async def request_print(
    settings: Settings, post: HelpPost, node_name: str, today: date | None = None
) -> RequestPrint:
    """A sheet's content (`post` with its neighbourhood loaded, see `printable_post`):
    with its status and free helper places, so a finished request asks for no help."""
    accepted = (await accepted_counts([post.id])).get(post.id, 0)
    hood = post.neighbourhood
    written = [PostText(post.language, post.title, post.description)]
    written += [
        PostText(lang, text.get("title", ""), text.get("description", ""))
        for lang, text in post.translations.items()
        if lang != post.language and text.get("title")
    ]
    return RequestPrint(
        is_request=post.kind == PostKind.REQUEST,
        texts=tuple(written),
        category=post.category,
        starts_at=post.starts_at,
        ends_at=post.ends_at,
        timezone=settings.timezone,
        neighbourhood=hood.name,
        commune=hood.commune,
        helpers_needed=post.helpers_needed,
        url=uris.absolute(settings, uris.post(post.id)),
        contact=contact_of(hood),
        node_name=node_name,
        printed_on=today or utcnow().astimezone(ZoneInfo(settings.timezone)).date(),
        status=str(post.status),
        helpers_accepted=accepted,
    )
