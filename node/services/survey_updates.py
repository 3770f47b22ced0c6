"""When a survey's counts go out again: debounced while it is open, once at closing.

Every vote changes the counts, but sending an `Update` of the `Question` per vote would
flood the Group's followers (and Mastodon debounces its own polls' updates too). A job
every minute (`job`) decides instead:

- an open survey with a vote newer than its last counts sent (`counts_sent_at`), whose
  last counts went out at least `DEBOUNCE` ago (or never), gets `SurveyCountsChanged`
  with `final=False`;
- a survey past its closing time whose final counts were not sent (`closed_sent_at`)
  gets `SurveyCountsChanged` with `final=True`, once.

Withdrawn surveys get neither: their `Delete` says all there is. The decision and its
stamp are taken with the survey's row locked, as votes are (`survey_votes`), so a vote
is either counted in what is sent or newer than the stamp, never lost in between.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from tortoise.expressions import Q

from node import db, events
from node.models import Survey, SurveyVote
from node.scheduler import Job
from node.timeutil import as_utc, utcnow

DEBOUNCE = timedelta(seconds=60)
INTERVAL_SECONDS = 60


def job() -> Job:
    """The scheduler's job; it logs how many surveys' counts it sent."""
    return Job("send-survey-counts", INTERVAL_SECONDS, send_due_counts)


async def send_due_counts(now: datetime | None = None) -> int:
    """Emit the counts events that are due; returns how many."""
    now = now or utcnow()
    sent = 0
    closing = (
        await Survey.filter(withdrawn_at=None, closed_sent_at=None, closes_at__lte=now)
        .order_by("closes_at")
        .values_list("id", flat=True)
    )
    for survey_id in closing:
        sent += await _send_final(survey_id, now)
    quiet_since = now - DEBOUNCE
    open_ = await Survey.filter(
        Q(counts_sent_at=None) | Q(counts_sent_at__lte=quiet_since),
        withdrawn_at=None,
        closes_at__gt=now,
    ).values_list("id", flat=True)
    for survey_id in open_:
        sent += await _send_counts(survey_id, now)
    return sent


async def _send_final(survey_id: UUID, now: datetime) -> int:
    async with db.atomic():
        survey = await Survey.select_for_update().get_or_none(id=survey_id)
        if survey is None or survey.closed_sent_at is not None or survey.withdrawn_at:
            return 0
        survey.closed_sent_at = survey.counts_sent_at = now
        await survey.save(update_fields=["closed_sent_at", "counts_sent_at"])
        await events.emit(events.SurveyCountsChanged(str(survey.id), final=True))
    return 1


async def _send_counts(survey_id: UUID, now: datetime) -> int:
    async with db.atomic():
        survey = await Survey.select_for_update().get_or_none(id=survey_id)
        if survey is None or survey.withdrawn_at is not None:
            return 0
        last = survey.counts_sent_at
        if last is not None and as_utc(last) > now - DEBOUNCE:
            return 0
        votes = SurveyVote.filter(survey_id=survey.id)
        if last is not None:
            votes = votes.filter(created_at__gt=last)
        if not await votes.exists():
            return 0
        # Stamped with the time read under the lock: a vote stored after it waits for
        # the lock, so it is newer than the stamp and goes out next time.
        survey.counts_sent_at = utcnow()
        await survey.save(update_fields=["counts_sent_at"])
        await events.emit(events.SurveyCountsChanged(str(survey.id), final=False))
    return 1
