"""Milestones of a post kept for the needs figures: its first offer of help and its
first accepted helper. Stamped once, in the transaction that reaches them, and never
moved back (a helper who later leaves does not undo the time it took to find one)."""

from node.models import HelpPost
from node.timeutil import utcnow


async def first_offer(post: HelpPost) -> None:
    """Stamp `post`'s first offer unless it has one. The instance is stamped too: the inbox
    worker's batch of replies to one post shares it, and asks the database once."""
    if post.first_offer_at is not None:
        return
    now = utcnow()  # updated_at too: the needs figures look for posts changed since
    stamped = await HelpPost.filter(id=post.id, first_offer_at__isnull=True).update(
        first_offer_at=now, updated_at=now
    )
    if stamped:  # else another process stamped it: the instance does not know when
        post.first_offer_at = now


async def first_match(post_id: object) -> None:
    now = utcnow()
    await HelpPost.filter(id=post_id, matched_at__isnull=True).update(
        matched_at=now, updated_at=now
    )
