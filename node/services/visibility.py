"""Who may see a help post: public, followers of the posting actor, or node members."""

from __future__ import annotations

from tortoise.expressions import Q

from node.models import Account, Follow, HelpPost, Role, Visibility
from node.services.organisations import staff_organisation_ids
from node.states import FollowStatus


async def _followed(viewer: Account) -> tuple[list[int], list[int]]:
    """Ids of accounts and organisations `viewer` follows with an accepted follow."""
    rows = await Follow.filter(follower_id=viewer.id, status=FollowStatus.ACCEPTED).values_list(
        "account_id", "organisation_id"
    )
    accounts = [a for a, _ in rows if a is not None]
    orgs = [o for _, o in rows if o is not None]
    return accounts, orgs


async def visible_posts_filter(viewer: Account | None) -> Q:
    """A filter for the posts `viewer` may see, for use in listings."""
    public = Q(visibility=Visibility.PUBLIC)
    if viewer is None or not viewer.is_active:
        return public
    if viewer.role in (Role.MODERATOR, Role.ADMIN):
        return Q()
    followed_accounts, followed_orgs = await _followed(viewer)
    own_orgs = await staff_organisation_ids(viewer)
    return (
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
    )


async def can_view(viewer: Account | None, post: HelpPost) -> bool:
    if post.visibility == Visibility.PUBLIC:
        return True  # what the filter says of public posts, without asking the database
    return await HelpPost.filter(await visible_posts_filter(viewer), id=post.id).exists()
