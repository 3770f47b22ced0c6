"""When to try a delivery again: a pure function of the attempt count and the outcome.

Exponential backoff from 30 s, doubled each attempt, with ±20 % jitter so many failed
deliveries to one host do not return in lockstep; capped at 12 h; no more tries once a
delivery is three days old. A 4xx other than those in TEMPORARY_4XX is a permanent
refusal. Each decision also says whether the failure is the host's (no answer, a 5xx),
which is what host health counts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=12)
GIVE_UP_AFTER = timedelta(days=3)
JITTER = 0.2
# Client errors that may pass: unauthorised (a key the receiver could not fetch yet),
# request timeout, too many requests.
TEMPORARY_4XX = frozenset({401, 408, 429})


class Verdict(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # not now: try again at `next_attempt_at`
    PERMANENT = "permanent"  # the inbox answered that it never will take it (a 4xx)
    GAVE_UP = "gave_up"  # temporary failures for longer than GIVE_UP_AFTER


@dataclass(frozen=True, slots=True)
class Decision:
    """What one attempt means for the delivery and for the health of its host."""

    verdict: Verdict
    next_attempt_at: datetime | None = None
    reason: str = ""
    # The failure is the server's (no answer, a 5xx): it counts toward marking the host
    # unavailable. Any 4xx says the server is up, whatever it thinks of this delivery.
    host_fault: bool = False
    answer: int | None = None  # the HTTP status the inbox answered, None if none

    @property
    def final(self) -> bool:
        """Whether the delivery is finished (sent or failed for good)."""
        return self.verdict != Verdict.RETRY

    @property
    def failed(self) -> bool:
        return self.verdict in (Verdict.PERMANENT, Verdict.GAVE_UP)

    @classmethod
    def sent(cls) -> Decision:
        return cls(Verdict.SENT)

    @classmethod
    def retry_at(cls, when: datetime, reason: str, *, host_fault: bool) -> Decision:
        return cls(Verdict.RETRY, when, reason, host_fault)

    @classmethod
    def permanent(cls, reason: str) -> Decision:
        return cls(Verdict.PERMANENT, None, reason, host_fault=False)

    @classmethod
    def gave_up(cls, reason: str, *, host_fault: bool) -> Decision:
        return cls(Verdict.GAVE_UP, None, reason, host_fault)


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
    error: str = "",
    refused: bool = False,
    rng: random.Random | None = None,
) -> Decision:
    """What to do after attempt number `attempts` answered `status`.

    `status` is None when there was no answer; `error` then says why (a short reason such
    as "timed out", never a body), and `refused` that our own rules forbid the address
    (a private or loopback address): that will not pass by trying again.
    """
    decision = _decide(status, attempts, created_at, now, retry_after_header, error, refused, rng)
    return replace(decision, answer=status)


def _decide(
    status: int | None,
    attempts: int,
    created_at: datetime,
    now: datetime,
    retry_after_header: str | None,
    error: str,
    refused: bool,
    rng: random.Random | None,
) -> Decision:
    if status is not None and 200 <= status < 300:
        return Decision.sent()
    if status is not None and 400 <= status < 500 and status not in TEMPORARY_4XX:
        return Decision.permanent(f"HTTP {status}")
    if status is None and refused:
        return Decision.permanent(f"refused: {error or 'unsafe address'}"[:300])
    reason = f"HTTP {status}" if status is not None else (error or "no answer")[:200]
    host_fault = status is None or status >= 500
    if status in (429, 503):
        later = retry_after(retry_after_header, now)
        if later is not None:
            if later - created_at > GIVE_UP_AFTER:
                return Decision.gave_up(f"{reason}; gave up", host_fault=host_fault)
            return Decision.retry_at(later, reason, host_fault=host_fault)
    later = now + backoff(attempts, rng)
    if later - created_at > GIVE_UP_AFTER:
        return Decision.gave_up(
            f"{reason}; gave up after {attempts} attempts", host_fault=host_fault
        )
    return Decision.retry_at(later, reason, host_fault=host_fault)
