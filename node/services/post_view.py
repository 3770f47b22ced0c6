"""What one person may see and do on a request's or offer's page, decided in one place.

The page shows what this returns: the responses, the helper places left, whether the
viewer may offer help, comment, manage the post or withdraw it, which status moves the
post graph allows them, and the exact address only for the people organising the help
(whose look at it is recorded in the post's audit trail).
"""

from __future__ import annotations

from dataclasses import dataclass

from node import uris
from node.errors import NotFound
from node.models import Account, HelpPost, Response
from node.services import audit
from node.services.organisations import staff_account_ids
from node.services.permissions import (
    can_manage_helpers,
    can_manage_post,
    can_see_private_location,
    can_withdraw_post,
)
from node.states import POST_GRAPH, OfferStatus, PostAction, PostStatus, post_allows

# The order in which status buttons are shown.
STATUS_ORDER = (PostStatus.MATCHED, PostStatus.DONE, PostStatus.OPEN, PostStatus.WITHDRAWN)


@dataclass(frozen=True, slots=True)
class PostView:
    responses: list[Response]  # oldest first, with `author` and `remote_author` loaded
    accepted: int
    manage: bool
    manage_helpers: bool
    may_withdraw: bool
    private_location: str | None
    own_offer: Response | None
    can_offer: bool
    can_comment: bool
    status_moves: list[PostStatus]
    # Staff of the post's organisation: their responses speak for it.
    team_ids: frozenset[int] = frozenset()
    # The viewer's offer here was declined: they cannot offer again (see responses).
    declined: bool = False


async def responses_of(post: HelpPost) -> list[Response]:
    return (
        await Response.filter(post_id=post.id)
        .order_by("created_at")
        .select_related("author", "remote_author")
    )


async def response_of(post: HelpPost, response_id: str) -> Response:
    """A response on `post` by its id; NotFound for another post's or a malformed id."""
    key = uris.id_key(str(response_id))
    if key is None:
        raise NotFound("no such response")
    found = await Response.get_or_none(id=key, post_id=post.id)
    if found is None:
        raise NotFound("no such response")
    return found


def status_moves(post: HelpPost, *, manage: bool, may_withdraw: bool) -> list[PostStatus]:
    """The status changes the graph allows from here that this viewer may make."""
    if not may_withdraw:
        return []
    current = PostStatus(post.status)
    return [
        target
        for target in STATUS_ORDER
        if POST_GRAPH.allows(current, target) and (manage or target == PostStatus.WITHDRAWN)
    ]


async def view_post(post: HelpPost, viewer: Account | None) -> PostView:
    """What `viewer` sees and may do on `post` (which they may see: see posts.get_post)."""
    rows = await responses_of(post)
    accepted = sum(1 for row in rows if row.offer_status == OfferStatus.ACCEPTED)
    manage = await can_manage_post(viewer, post)
    manage_helpers = manage or await can_manage_helpers(viewer, post)
    may_withdraw = manage or await can_withdraw_post(viewer, post)
    own_offer = None
    declined = viewer is not None and any(
        row.author_id == viewer.id and row.offer_status == OfferStatus.DECLINED for row in rows
    )
    if viewer is not None:
        own_offer = next(
            (
                row
                for row in rows
                if row.author_id == viewer.id
                and row.offer_status in (OfferStatus.OFFERED, OfferStatus.ACCEPTED)
            ),
            None,
        )
    private_location = None
    if post.private_location and await can_see_private_location(viewer, post):
        private_location = post.private_location
        assert viewer is not None
        await audit.address_seen(viewer, post)
    return PostView(
        responses=rows,
        accepted=accepted,
        manage=manage,
        manage_helpers=manage_helpers,
        may_withdraw=may_withdraw,
        private_location=private_location,
        own_offer=own_offer,
        can_offer=(
            post_allows(post.status, PostAction.OFFER)
            and (viewer is None or viewer.id != post.author_id)
            and own_offer is None
            and not declined
        ),
        can_comment=post_allows(post.status, PostAction.COMMENT),
        status_moves=status_moves(post, manage=manage, may_withdraw=may_withdraw),
        team_ids=await _team_among(post, rows),
        declined=declined and own_offer is None,
    )


async def _team_among(post: HelpPost, rows: list[Response]) -> frozenset[int]:
    """The organisation's staff among the local authors of responses (no query when the
    post is nobody's organisation's or nobody here answered)."""
    local = {row.author_id for row in rows if row.author_id is not None}
    if post.organisation_id is None or not local:
        return frozenset()
    return frozenset(local & set(await staff_account_ids(post.organisation_id)))
