"""How a response shows on a post's page: its author (or the organisation it speaks
for), its text (a remote reply's HTML sanitised again), and for a service pointer the
service in the reader's language; offers may be marked as their author's first in the
neighbourhood."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from node import uris
from node.models import Account
from node.models import Response as PostResponse
from node.services import removals
from node.text import sanitise_html
from web.pages.post_guidance import ShownService


@dataclass(frozen=True, slots=True)
class ShownResponse:
    id: str
    kind: str
    author_name: str
    author_url: str | None
    remote: bool
    body: str
    body_html: Markup | None
    offer_status: str | None
    is_viewers: bool
    created_at: Any
    remote_actor_id: int | None = None  # a reply from another server: its account
    removed: bool = False  # by moderation: only moderators see it, marked
    service: ShownService | None = None  # what a SERVICE response points to
    first_time: bool = False  # the author's first offer in the neighbourhood


def shown_response(
    response: PostResponse,
    account: Account | None,
    speaks_for: tuple[str, str] | None = None,
    *,
    service: ShownService | None = None,
    first_time: bool = False,
) -> ShownResponse:
    """`speaks_for`: (name, page) shown instead of the author's (an organisation's staff
    answering on its post)."""
    if response.remote_author_id is not None:
        actor = response.remote_author
        handle = f"@{actor.username}@{actor.domain}" if actor.username else actor.domain
        name = actor.display_name or handle
        # Sanitised when stored; again here, so a row written by an older version
        # or by hand cannot carry markup that the allowlist now refuses.
        html = Markup(sanitise_html(response.body_html or ""))  # noqa: S704 - nh3 allowlist
        return ShownResponse(
            id=str(response.id),
            kind=response.kind,
            author_name=f"{name} ({handle})" if name != handle else handle,
            author_url=actor.url or actor.uri,
            remote_actor_id=actor.id,
            remote=True,
            body=response.body,
            body_html=html,
            offer_status=response.offer_status,
            is_viewers=False,
            created_at=response.created_at,
            removed=removals.response_removed(response),
        )
    author = response.author
    return ShownResponse(
        id=str(response.id),
        kind=response.kind,
        author_name=speaks_for[0] if speaks_for else author.display_name,
        author_url=speaks_for[1] if speaks_for else uris.account(author.username),
        remote=False,
        body=response.body,
        body_html=None,
        offer_status=response.offer_status,
        is_viewers=account is not None and author.id == account.id,
        created_at=response.created_at,
        removed=removals.response_removed(response),
        service=service,
        first_time=first_time,
    )
