"""When to try a delivery again: a pure function of the attempt count and the outcome.

Exponential backoff from 30 s, doubled each attempt, with ±20 % jitter so many failed
deliveries to one host do not return in lockstep; capped at 12 h; no more tries once a
delivery is three days old.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=12)
GIVE_UP_AFTER = timedelta(days=3)
JITTER = 0.2


class Verdict(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    next_attempt_at: datetime | None = None
    reason: str = ""


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Delay before attempt `attempts + 1`, after `attempts` failures (>= 1)."""
    base = FIRST_DELAY * (2 ** max(attempts - 1, 0))
    base = min(base, MAX_DELAY)
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)
    return min(base * factor, MAX_DELAY)


def retry_after(value: str | None, now: datetime) -> datetime | None:
    """A Retry-After header (seconds or an HTTP date) as a time; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + min(timedelta(seconds=int(value)), MAX_DELAY)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(when, now), now + MAX_DELAY)


def decide(
    *,
    status: int | None,
    attempts: int,
    created_at: datetime,
    now: datetime,
    retry_after_header: str | None = None,
    rng: random.Random | None = None,
) -> Decision:
    """What to do after attempt number `attempts` answered `status` (None: no answer)."""
    if status is not None and 200 <= status < 300:
        return Decision(Verdict.SENT)
    permanent = status is not None and 400 <= status < 500 and status not in (401, 408, 429)
    if permanent:
        return Decision(Verdict.FAILED, reason=f"HTTP {status}")
    reason = f"HTTP {status}" if status is not None else "no answer"
    if status in (429, 503):
        later = retry_after(retry_after_header, now)
        if later is not None:
            if later - created_at > GIVE_UP_AFTER:
                return Decision(Verdict.FAILED, reason=f"{reason}; gave up")
            return Decision(Verdict.RETRY, later, reason)
    later = now + backoff(attempts, rng)
    if later - created_at > GIVE_UP_AFTER:
        return Decision(Verdict.FAILED, reason=f"{reason}; gave up after {attempts} attempts")
    return Decision(Verdict.RETRY, later, reason)
