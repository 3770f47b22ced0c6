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

import uuid
from dataclasses import dataclass, field

from tortoise.expressions import Q

from node import raw_sql as sql
from node.models import (
    Account,
    Follow,
    HelpPost,
    PostPartner,
    RemoteActor,
    Role,
    Visibility,
)
from node.states import FollowStatus, OfferStatus

# Levels that never leave this node: no Note is served or delivered elsewhere.
LOCAL_ONLY = frozenset({Visibility.NEIGHBOURS, Visibility.MEMBERS})


def is_federated(visibility: str) -> bool:
    """Whether other servers may be sent, or fetch, a post of this level."""
    return visibility not in LOCAL_ONLY


# Everything a viewer's filter depends on, in one statement: accepted follows (of an
# account, an organisation, a neighbourhood), staff memberships, posts helped on as an
# accepted helper, posts of partner organisations. Every logged-in page asks this (the
# listings, the badge), and six ORM statements cost more CPU building and converting than
# the database spent on them. Values come back as text: a UNION needs one column type on
# both backends (post ids are uuid on PostgreSQL, integers elsewhere).
_RELATIONS_SQL = """
SELECT 'a' AS k, CAST(account_id AS TEXT) AS v FROM follows
 WHERE follower_id = ? AND status = ? AND account_id IS NOT NULL
UNION ALL SELECT 'o', CAST(organisation_id AS TEXT) FROM follows
 WHERE follower_id = ? AND status = ? AND organisation_id IS NOT NULL
UNION ALL SELECT 'h', CAST(neighbourhood_id AS TEXT) FROM follows
 WHERE follower_id = ? AND status = ? AND neighbourhood_id IS NOT NULL
UNION ALL SELECT 's', CAST(organisation_id AS TEXT) FROM memberships WHERE account_id = ?
UNION ALL SELECT 'p', CAST(post_id AS TEXT) FROM responses
 WHERE author_id = ? AND offer_status = ?
UNION ALL SELECT 'p', CAST(pp.post_id AS TEXT) FROM post_partners pp
 JOIN memberships m ON m.organisation_id = pp.organisation_id WHERE m.account_id = ?
"""


@dataclass(slots=True)
class _Relations:
    followed_accounts: list[int] = field(default_factory=list)
    followed_orgs: list[int] = field(default_factory=list)
    followed_hoods: list[int] = field(default_factory=list)
    own_orgs: list[int] = field(default_factory=list)  # staff of (`staff_organisation_ids`)
    # Posts whose team the viewer is part of, whatever the level: accepted as a helper,
    # or staff of a partner organisation.
    team: list[uuid.UUID] = field(default_factory=list)


async def _relations(viewer: Account) -> _Relations:
    accepted = FollowStatus.ACCEPTED.value
    params: list[object] = [viewer.id, accepted] * 3
    params += [viewer.id, viewer.id, OfferStatus.ACCEPTED.value, viewer.id]
    found = _Relations()
    lists = {
        "a": found.followed_accounts,
        "o": found.followed_orgs,
        "h": found.followed_hoods,
        "s": found.own_orgs,
    }
    for row in await sql.named_rows(_RELATIONS_SQL, params):
        if row["k"] == "p":
            found.team.append(uuid.UUID(row["v"]))
        else:
            lists[row["k"]].append(int(row["v"]))
    return found


async def visible_lookups(viewer: Account | None) -> list[dict[str, object]] | None:
    """The posts `viewer` may see, as alternatives (any one admits a post), each a set of
    lookups that must all hold; None: every post. Written once for `Q` filters
    (`visible_posts_filter`) and the hand-written listing (`listings`)."""
    public: dict[str, object] = {"visibility": Visibility.PUBLIC}
    if viewer is None or not viewer.is_active:
        return [public]
    if viewer.role in (Role.MODERATOR, Role.ADMIN):
        return None
    found = await _relations(viewer)
    followed_hoods = found.followed_hoods
    if viewer.home_neighbourhood_id is not None:  # type: ignore[attr-defined]
        followed_hoods.append(viewer.home_neighbourhood_id)  # type: ignore[attr-defined]
    alternatives: list[dict[str, object]] = [
        public,
        {"visibility": Visibility.MEMBERS},
        {"author_id": viewer.id},
        {"organisation_id__in": found.own_orgs},
        # The posting actor is the organisation when there is one, else the author.
        {
            "visibility": Visibility.FOLLOWERS,
            "organisation_id": None,
            "author_id__in": found.followed_accounts,
        },
        {"visibility": Visibility.FOLLOWERS, "organisation_id__in": found.followed_orgs},
        {"visibility": Visibility.NEIGHBOURS, "neighbourhood_id__in": followed_hoods},
        {"id__in": found.team},
    ]
    # An empty list admits nothing: the alternative is left out.
    return [a for a in alternatives if all(v for k, v in a.items() if k.endswith("__in"))]


async def visible_posts_filter(viewer: Account | None) -> Q:
    """A filter for the posts `viewer` may see, for use in listings."""
    alternatives = await visible_lookups(viewer)
    if alternatives is None:
        return Q()
    return Q(*(Q(**lookups) for lookups in alternatives), join_type="OR")


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
