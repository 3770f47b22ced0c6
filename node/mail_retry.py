"""When to try an e-mail again: a pure function of its attempts, its age and the answer.

An SMTP answer 5xx to a message (its recipient, its sender, its content) is final: the
message fails and is never retried. Anything else that stops it (a 4xx "try later", no
answer, a refused connection, a timeout) leaves it pending: tried again after a delay
that starts at a minute and doubles up to two hours, with ±20 % jitter so that a queue
that waited for a server coming back does not return in lockstep. A message still
unsent two days after it was queued, or after MAX_ATTEMPTS tries, is given up (FAILED):
a notification that old is of little use, and a digest comes again the next day.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from node.timeutil import as_utc

FIRST_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=2)
GIVE_UP_AFTER = timedelta(days=2)
MAX_ATTEMPTS = 24
JITTER = 0.2


def is_permanent(code: int | None) -> bool:
    """Whether an SMTP reply code refuses for good (5xx); no answer at all is not."""
    return code is not None and 500 <= code <= 599


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """The delay after `attempts` failed attempts (>= 1)."""
    base = min(FIRST_DELAY * (2 ** min(max(attempts - 1, 0), 20)), MAX_DELAY)
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)
    return min(base * factor, MAX_DELAY)


def next_attempt(
    attempts: int, created_at: datetime, now: datetime, rng: random.Random | None = None
) -> datetime | None:
    """When to try again after `attempts` failed attempts; None when it is time to give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    when = now + backoff(attempts, rng)
    if when - as_utc(created_at) > GIVE_UP_AFTER:
        return None
    return when
