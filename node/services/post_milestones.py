"""Milestones of a post kept for the needs figures: its first offer of help and its
first accepted helper. Stamped once, in the transaction that reaches them, and never
moved back (a helper who later leaves does not undo the time it took to find one)."""

from node.models import HelpPost
from node.timeutil import utcnow


async def first_offer(post_id: object) -> None:
    now = utcnow()  # updated_at too: the needs figures look for posts changed since
    await HelpPost.filter(id=post_id, first_offer_at__isnull=True).update(
        first_offer_at=now, updated_at=now
    )


async def first_match(post_id: object) -> None:
    now = utcnow()
    await HelpPost.filter(id=post_id, matched_at__isnull=True).update(
        matched_at=now, updated_at=now
    )
