"""The suppression rule of the needs figures: a count under five could point at a
person ("the one request for personal care in this street this month"), so it is never
shown, exported or published. Medians and shares computed from fewer than five posts
are suppressed with it."""

from __future__ import annotations

SUPPRESS_BELOW = 5


def shown(count: int) -> int | None:
    """`count` when it may be shown, None when it must be suppressed (0 is shown: an
    empty cell identifies nobody)."""
    return count if count == 0 or count >= SUPPRESS_BELOW else None


def enough(count: int) -> bool:
    """Whether a figure computed from `count` posts (a median, a share) may be shown."""
    return count >= SUPPRESS_BELOW
