"""The suppression rule of the needs figures: a count under five could point at a
person ("the one request for personal care in this street this month"), so it is never
shown, exported or published. Counts of five and more are rounded to the nearest five:
otherwise a shown total minus its shown parts would give the hidden ones back (7 posts,
5 of them for cleaning: the two hidden categories hold one each). Medians and shares
computed from fewer than five posts are suppressed with them, and shares are rounded to
ten percent for the same reason."""

from __future__ import annotations

SUPPRESS_BELOW = 5
ROUND_TO = 5
SHARE_STEP = 0.1


def shown(count: int) -> int | None:
    """`count` as it may be shown: 0 as it is (an empty cell identifies nobody), None
    from 1 to 4, else rounded to the nearest five."""
    if count == 0:
        return 0
    if count < SUPPRESS_BELOW:
        return None
    return max(SUPPRESS_BELOW, ROUND_TO * round(count / ROUND_TO))


def enough(count: int) -> bool:
    """Whether a figure computed from `count` posts (a median, a share) may be shown."""
    return count >= SUPPRESS_BELOW


def share(part: int, whole: int) -> float | None:
    """`part` of `whole`, rounded to ten percent; None when `whole` is under five."""
    if not enough(whole):
        return None
    return round(round(part / whole / SHARE_STEP) * SHARE_STEP, 1)
