"""What a person helped with: the done requests on which their offer was accepted.

Shown on their profile when they choose so (`Account.show_helped`, set in their
settings), and always to themselves (marked as seen by them alone while the choice is
off). Whoever looks sees only the requests they may see (`visibility`): a request for
the neighbours or the followers never appears to others through a helper's profile,
nor one the moderators removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from node.models import Account, HelpPost, PostKind, Response, ResponseKind
from node.services.removals import listed_filter
from node.services.visibility import visible_posts_filter
from node.states import OfferStatus, PostStatus

LIMIT = 50


@dataclass(frozen=True, slots=True)
class HelpedWith:
    post_id: str
    title: str
    language: str  # of `title`
    neighbourhood: str
    done_at: datetime  # when the request was marked done


@dataclass(frozen=True, slots=True)
class HelpedList:
    items: list[HelpedWith]
    # The person looks at their own profile with the choice off: only they see this.
    only_you: bool


async def helped_with(
    person: Account, viewer: Account | None, locale: str, *, limit: int = LIMIT
) -> list[HelpedWith]:
    """The done requests `person` was an accepted helper on that `viewer` may see, the
    most recently done first, titled in `locale` where the author wrote it."""
    post_ids = await Response.filter(
        author_id=person.id, kind=ResponseKind.OFFER, offer_status=OfferStatus.ACCEPTED
    ).values_list("post_id", flat=True)
    if not post_ids:
        return []
    rows = (
        await HelpPost.filter(
            await visible_posts_filter(viewer),
            listed_filter(include_silenced=True),
            id__in=list(post_ids),
            kind=PostKind.REQUEST,
            status=PostStatus.DONE,
        )
        .order_by("-status_changed_at", "-id")
        .limit(limit)
        .select_related("neighbourhood")
    )
    found = []
    for post in rows:
        title, _, language = post.text_in(locale)
        found.append(
            HelpedWith(
                post_id=str(post.id),
                title=title,
                language=language,
                neighbourhood=post.neighbourhood.name,
                done_at=post.status_changed_at or post.updated_at,
            )
        )
    return found


async def for_profile(person: Account, viewer: Account | None, locale: str) -> HelpedList | None:
    """What `person`'s profile shows `viewer` of their help, or None: shown to all when
    they chose so (an empty list to themselves only), else to themselves only."""
    own = viewer is not None and viewer.id == person.id
    if not (person.show_helped or own):
        return None
    items = await helped_with(person, viewer, locale)
    if not items and not own:
        return None
    return HelpedList(items, only_you=not person.show_helped)
