"""What moderators' decisions mean for everyone else: which posts are listed, which are
removed (410) and for whom, which responses are shown, whether a post is shared beyond
its author's followers. Pages, feeds, listings and ActivityPub documents all ask here,
so that they answer the same (the decisions themselves: `node.services.sanctions`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from node import validation
from node.models import Account, HelpPost, Response
from node.services.domain_policy import HiddenHosts
from node.services.permissions import can_manage_post


def listed_lookups(*, include_silenced: bool = False) -> dict[str, object]:
    """Posts that may appear in this node's listings and feeds: not hidden, author not
    suspended (nor silenced, unless the listing is that author's own profile). As lookups,
    for `Q` filters and the hand-written listing (`listings`) alike."""
    condition: dict[str, object] = {"hidden_at": None, "author__suspended_at": None}
    return condition if include_silenced else {**condition, "author__silenced_at": None}


def listed_filter(*, include_silenced: bool = False) -> Q:
    """`listed_lookups` as a filter."""
    return Q(**listed_lookups(include_silenced=include_silenced))


def shares_widely(post: HelpPost) -> bool:
    """Whether the neighbourhood, the node and relays pass `post` on (its author loaded):
    a silenced or suspended author's posts reach their own followers only."""
    return post.author.silenced_at is None and post.author.suspended_at is None


@dataclass(frozen=True, slots=True)
class Removal:
    """A post removed by moderation, as one viewer meets it."""

    hidden_at: datetime | None  # hidden by a moderator (None: its author is suspended)
    reason: str  # the moderator's reason, for those who may still see the post
    shown: bool  # False: this viewer gets 410


def is_removed(post: HelpPost) -> bool:
    """Hidden, or by a suspended author (the author loaded)."""
    return post.hidden_at is not None or post.author.suspended_at is not None


async def post_removal(post: HelpPost, viewer: Account | None) -> Removal | None:
    """None for a post nobody removed. Hidden posts are still shown to their author, the
    organisation's staff and moderators; a suspended author's posts to moderators only."""
    if not is_removed(post):
        return None
    moderator = viewer is not None and viewer.is_active and viewer.is_staff_of_node
    if post.hidden_at is None:
        return Removal(None, "", shown=moderator)
    shown = moderator or await can_manage_post(viewer, post)
    return Removal(post.hidden_at, post.hidden_reason, shown=shown)


def response_removed(response: Response) -> bool:
    """Hidden, by a suspended local author, or by a limited or suspended remote account
    (author and remote_author loaded)."""
    if response.hidden_at is not None:
        return True
    if response.remote_author_id is not None:
        return bool(response.remote_author.standing)
    return response.author.suspended_at is not None


def shown_responses(
    rows: list[Response], viewer: Account | None, hidden: HiddenHosts | None = None
) -> list[Response]:
    """The responses `viewer` sees: moderators see all (the page marks removed ones);
    others not those from servers the domain policy limits or suspends (`hidden`)."""
    if viewer is not None and viewer.is_active and viewer.is_staff_of_node:
        return rows
    return [
        row
        for row in rows
        if not response_removed(row)
        and not (hidden and row.remote_author_id and hidden.hides(row.remote_author.domain))
    ]


async def suspended_account(username: str) -> Account | None:
    """The suspended account of that name, or None (for the 410 of its pages)."""
    name = validation.as_username(username)
    return await Account.get_or_none(username=name, suspended_at__isnull=False) if name else None
