"""What a request's page shows to guide helpers: the category's guide ("Before you
help"), the services a helper may point the author to, and the service a SERVICE
response points to, in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass

from node import uris
from node.models import Account, HelpPost, PostKind, Service
from node.services.guide_texts import guide_for
from node.services.guides import Guide
from node.states import PostAction, post_allows


@dataclass(frozen=True, slots=True)
class ShownService:
    """A service as a response shows it: enough to reach it without leaving the page."""

    id: str
    name: str
    url: str
    phone: str
    website: str | None


def shown_service(service: Service | None, locale: str) -> ShownService | None:
    if service is None:
        return None
    name, _ = service.text_in(locale)
    return ShownService(
        id=str(service.id),
        name=name,
        url=uris.service(service.id),
        phone=service.phone,
        # Checked when the service is saved; again here, as it becomes a link.
        website=service.website if _is_web(service.website) else None,
    )


def _is_web(url: str | None) -> bool:
    return bool(url) and str(url).lower().startswith(("https://", "http://"))


def service_options(services: list[Service], locale: str) -> list[tuple[str, str]]:
    """(value, label) pairs for the "point to a service" choice."""
    options = []
    for service in services:
        name, _ = service.text_in(locale)
        organisation = getattr(service.organisation, "name", "")
        options.append((str(service.id), f"{name} ({organisation})" if organisation else name))
    return options


async def guide_shown(
    post: HelpPost, account: Account | None, locale: str, *, manages: bool
) -> Guide | None:
    """The category's guide for a logged-in person who might help on request `post`
    (not its author nor its team), in their language, as the post's organisation set it."""
    if account is None or manages or post.kind != PostKind.REQUEST:
        return None
    if not post_allows(post.status, PostAction.COMMENT):  # over: nobody helps any more
        return None
    try:
        return await guide_for(post.category, locale, post.organisation_id)
    except KeyError:  # a category retired since the post was written: no guide to show
        return None
