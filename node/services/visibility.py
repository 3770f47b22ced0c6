"""Who may see a help post. The levels, as the compose form names them:

- public: everyone, here and on other servers;
- followers: the approved followers of whoever posts it (the organisation when posted
  for one, else the author), here and on their servers. Organisations approve each
  follower unless they choose otherwise; residents may choose to (`follow_requests`);
- neighbours: accounts of this node that live in the post's neighbourhood or follow it.
  Not federated: Mastodon would show a Note addressed to a group's audience only to
  people who follow its author, so the promise could not be kept elsewhere;
- members: every account of this node. Not federated.

Whatever the level, the author, the staff of the post's organisation and of the partner
organisations named on it, the helpers accepted on it (they were given its address),
and the node's moderators and admins see it. The same rules serve pages, listings,
ActivityPub fetches (`federation.documents`) and deliveries (`federation.publishing`).
"""

from __future__ import annotations

from tortoise.expressions import Q

from node.models import (
    Account,
    Follow,
    HelpPost,
    PostPartner,
    RemoteActor,
    Response,
    Role,
    Visibility,
)
from node.services.organisations import staff_organisation_ids
from node.states import FollowStatus, OfferStatus

# Levels that never leave this node: no Note is served or delivered elsewhere.
LOCAL_ONLY = frozenset({Visibility.NEIGHBOURS, Visibility.MEMBERS})


def is_federated(visibility: str) -> bool:
    """Whether other servers may be sent, or fetch, a post of this level."""
    return visibility not in LOCAL_ONLY


async def _followed(viewer: Account) -> tuple[list[int], list[int], list[int]]:
    """Ids of the accounts, organisations and neighbourhoods `viewer` follows (accepted)."""
    rows = await Follow.filter(follower_id=viewer.id, status=FollowStatus.ACCEPTED).values_list(
        "account_id", "organisation_id", "neighbourhood_id"
    )
    accounts = [a for a, _, _ in rows if a is not None]
    orgs = [o for _, o, _ in rows if o is not None]
    hoods = [h for _, _, h in rows if h is not None]
    return accounts, orgs, hoods


async def visible_posts_filter(viewer: Account | None) -> Q:
    """A filter for the posts `viewer` may see, for use in listings."""
    public = Q(visibility=Visibility.PUBLIC)
    if viewer is None or not viewer.is_active:
        return public
    if viewer.role in (Role.MODERATOR, Role.ADMIN):
        return Q()
    followed_accounts, followed_orgs, followed_hoods = await _followed(viewer)
    if viewer.home_neighbourhood_id is not None:  # type: ignore[attr-defined]
        followed_hoods.append(viewer.home_neighbourhood_id)  # type: ignore[attr-defined]
    own_orgs = await staff_organisation_ids(viewer)
    # Posts whose team the viewer is part of, whatever the level: accepted as a helper,
    # or staff of a partner organisation.
    helping = await Response.filter(
        author_id=viewer.id, offer_status=OfferStatus.ACCEPTED
    ).values_list("post_id", flat=True)
    partnering = (
        await PostPartner.filter(organisation_id__in=own_orgs).values_list("post_id", flat=True)
        if own_orgs
        else []
    )
    team = [*helping, *partnering]
    seen = (
        public
        | Q(visibility=Visibility.MEMBERS)
        | Q(author_id=viewer.id)
        | Q(organisation_id__in=own_orgs or [0])
        # The posting actor is the organisation when there is one, else the author.
        | Q(
            visibility=Visibility.FOLLOWERS,
            organisation_id=None,
            author_id__in=followed_accounts or [0],
        )
        | Q(visibility=Visibility.FOLLOWERS, organisation_id__in=followed_orgs or [0])
        | Q(visibility=Visibility.NEIGHBOURS, neighbourhood_id__in=followed_hoods or [0])
    )
    return seen | Q(id__in=team) if team else seen


async def remote_may_see(actor: RemoteActor, post: HelpPost) -> bool:
    """Whether an actor on another server may see (fetch, answer, react to) a post:
    public ones; followers-only ones when it is an accepted follower of whoever posts it,
    or a partner organisation named on it."""
    if post.visibility == Visibility.PUBLIC:
        return True
    if post.visibility != Visibility.FOLLOWERS:
        return False
    owner = (
        {"organisation_id": post.organisation_id}
        if post.organisation_id
        else {"account_id": post.author_id}  # type: ignore[attr-defined]
    )
    if await Follow.exists(follower_remote=actor, status=FollowStatus.ACCEPTED, **owner):
        return True
    return await PostPartner.exists(post_id=post.id, remote_actor=actor)


async def can_view(viewer: Account | None, post: HelpPost) -> bool:
    if post.visibility == Visibility.PUBLIC:
        return True  # what the filter says of public posts, without asking the database
    return await HelpPost.filter(await visible_posts_filter(viewer), id=post.id).exists()
