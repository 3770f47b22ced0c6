"""Housekeeping: finished queue rows are pruned after `queue_retention_days`.

Every reply, follow and delivery leaves rows in the queues; without pruning the
database grows without end. After the retention period (a setting, 14 days by default,
at least 1) the scheduler's hourly job deletes:

- inbox items processed, ignored or rejected (counted from `processed_at`);
- handled events (`handled_at`), among them those stored handled because no other
  server needs them (`node.events`);
- deliveries failed or cancelled whose last attempt was due before the cutoff;
- sent deliveries of activities that no longer tell who holds a copy of something (below);
- outbox activities with no delivery left that are not needed any more (below);
- e-mails sent, failed or cancelled (counted from when they were queued).

What stays, and who reads it:

- Anything pending or retrying: the workers' queues.
- Public activities: each actor's outbox collection lists them (`federation.documents`).
  Activity ids (`/activities/<id>`) are not served, so no other URL needs a row.
- The Follow of an outgoing follow: its Undo embeds the Follow as it was sent
  (`federation.follows_outgoing`).
- Activities about a post or a response (`object_uri`) that was never deleted, with their
  sent deliveries: `federation.outbox.inboxes_sent` reads them so that an Update or a
  Delete reaches every server holding a copy, including one that no longer follows, and
  hiding a response finds the Create it deletes. Once a Delete about that object was
  sent (posts withdrawn, expired or hidden, responses hidden: all final), they are
  pruned like the rest, the Delete itself last.
- The admins' federation health page lists pending and failed deliveries and pending,
  retrying and rejected inbox items; it shows the last `queue_retention_days` of them.

What is given up: when an account's suspension is federated, its Delete reaches its
followers and the servers holding its live posts, but no longer a server that was only
sent an Accept or a message more than the retention period ago.

Replays. The inbox drops an activity whose id it has already stored; once the item is
pruned, the same activity would be processed again. A third party replaying a captured
POST is refused anyway: the signed date must be within an hour of now
(`federation.verification`, `federation.signatures`), and the retention is at least a
day. The sender itself may send an old activity again with a fresh signature (a retry
after our 202 was lost); the handlers are idempotent for that: a reply or an
Offer(Agreement) is found by its Note or activity id (`Response.object_uri`), a Follow
updates the existing follow (and answers Accept again, which servers ignore), a Like or
Announce is one per actor and post, a Flag is found by its activity id
(`Report.activity_uri`), and Update, Delete, Undo, Accept and Reject set a state that
is already set.

Rows go in batches of `BATCH`, each batch its own short statement (no transaction
around the run), so that the first prune of a big table holds no long lock and the
workers keep going in between. Each statement re-checks its conditions, so a row that
changed since it was selected (a failed delivery sent again by an admin) stays.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.models import Model

from node.config import Settings
from node.models import (
    Delivery,
    DeliveryStatus,
    Event,
    InboxItem,
    InboxStatus,
    MailMessage,
    OutboxActivity,
    OutgoingFollow,
)
from node.scheduler import Job
from node.states import MailStatus
from node.timeutil import utcnow

BATCH = 5000
# Activities are looked at in smaller batches: each may have thousands of deliveries.
ACTIVITY_BATCH = 500
INTERVAL_SECONDS = 3600
FINISHED_INBOX = (InboxStatus.PROCESSED, InboxStatus.IGNORED, InboxStatus.REJECTED)
GIVEN_UP = (DeliveryStatus.FAILED, DeliveryStatus.CANCELLED)
FINISHED_MAIL = (MailStatus.SENT, MailStatus.FAILED, MailStatus.CANCELLED)


def job(settings: Settings) -> Job:
    """The scheduler's hourly job; it logs how many rows it removed."""
    return Job("prune-queues", INTERVAL_SECONDS, functools.partial(prune, settings))


async def prune(settings: Settings, *, now: datetime | None = None, batch: int = BATCH) -> int:
    """Delete what the retention period no longer keeps; returns how many rows."""
    cutoff = (now or utcnow()) - timedelta(days=settings.queue_retention_days)
    finished = Q(status__in=FINISHED_INBOX) & (
        Q(processed_at__lt=cutoff) | Q(processed_at=None, received_at__lt=cutoff)
    )
    # A failed delivery's last attempt was due at `next_attempt_at` (an admin's "retry
    # now" moves it to now); a cancelled one was due then at the latest.
    given_up = Q(status__in=GIVEN_UP, next_attempt_at__lt=cutoff, created_at__lt=cutoff)
    removed = await _prune_rows(InboxItem, finished, batch)
    removed += await _prune_rows(Event, Q(handled_at__lt=cutoff), batch)
    removed += await _prune_rows(Delivery, given_up, batch)
    # A pending e-mail is the sender's; it gives up after two days, well within retention.
    mail = Q(status__in=FINISHED_MAIL, created_at__lt=cutoff)
    removed += await _prune_rows(MailMessage, mail, batch)
    return removed + await _prune_outbox(cutoff, batch)


async def _prune_rows(model: type[Model], condition: Q, batch: int) -> int:
    """Delete the rows matching `condition`, `batch` at a time, walking the primary key."""
    removed, last = 0, None
    while True:
        query = model.filter(condition) if last is None else model.filter(condition, id__gt=last)
        ids = await query.order_by("id").limit(batch).values_list("id", flat=True)
        if not ids:
            return removed
        removed += await model.filter(condition, id__in=list(ids)).delete()
        if len(ids) < batch:
            return removed
        last = ids[-1]
        await asyncio.sleep(0)  # let the workers and requests of this process run


async def _prune_outbox(cutoff: datetime, batch: int) -> int:
    """Sent deliveries of activities that hold nothing any more, then those activities."""
    removed, last = 0, None
    while True:
        query = OutboxActivity.filter(created_at__lt=cutoff)
        if last is not None:
            query = query.filter(id__gt=last)
        rows = (
            await query.order_by("id")
            .limit(ACTIVITY_BATCH)
            .values("id", "activity_type", "activity_uri", "object_uri", "public")
        )
        if not rows:
            return removed
        released = await _released(rows)
        sent = Q(status=DeliveryStatus.SENT) & (
            Q(sent_at__lt=cutoff) | Q(sent_at=None, created_at__lt=cutoff)
        )
        for start in range(0, len(released), batch):
            chunk = [row["id"] for row in released[start : start + batch]]
            removed += await _prune_rows(Delivery, sent & Q(activity_id__in=chunk), batch)
        removed += await _prune_activities([row for row in released if not row["public"]])
        if len(rows) < ACTIVITY_BATCH:
            return removed
        last = rows[-1]["id"]
        await asyncio.sleep(0)


async def _released(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The activities that no longer record a copy held elsewhere: about no object, or
    about one a Delete was sent for (a Delete itself holds nothing). A direct message
    about a response or a conversation message goes with its request's Delete."""
    about = {row["object_uri"] for row in rows if row["object_uri"] is not None}
    about |= {_request_of(uri) for uri in about}
    deleted = set()
    if about:
        deleted = set(
            await OutboxActivity.filter(
                object_uri__in=sorted(about), activity_type="Delete"
            ).values_list("object_uri", flat=True)
        )
    return [
        row
        for row in rows
        if row["object_uri"] is None
        or row["activity_type"] == "Delete"
        or row["object_uri"] in deleted
        or _request_of(row["object_uri"]) in deleted
    ]


def _request_of(uri: str) -> str:
    """The request a response's or conversation message's URL is under (else itself)."""
    for part in ("/responses/", "/conversation/"):
        if part in uri:
            return uri.split(part, 1)[0]
    return uri


async def _prune_activities(candidates: list[dict[str, Any]]) -> int:
    """Delete the `candidates` (released, not public) that nothing refers to any more."""
    if not candidates:
        return 0
    ids = [row["id"] for row in candidates]
    with_deliveries = set(
        await Delivery.filter(activity_id__in=ids).distinct().values_list("activity_id", flat=True)
    )
    follows = set(
        await OutgoingFollow.filter(
            activity_uri__in=[row["activity_uri"] for row in candidates]
        ).values_list("activity_uri", flat=True)
    )
    # A Delete goes after everything else about its object: while a Create remains, the
    # Delete is what says that the Create holds nothing.
    deletes = {row["object_uri"] for row in candidates if row["activity_type"] == "Delete"}
    not_yet = set()
    if deletes - {None}:
        not_yet = set(
            await OutboxActivity.filter(object_uri__in=sorted(deletes - {None}))
            .exclude(activity_type="Delete")
            .values_list("object_uri", flat=True)
        )
    doomed = [
        row["id"]
        for row in candidates
        if row["id"] not in with_deliveries
        and row["activity_uri"] not in follows
        and not (row["activity_type"] == "Delete" and row["object_uri"] in not_yet)
    ]
    if not doomed:
        return 0
    # Checked again in the statement: deleting an activity would take its deliveries along.
    referred = Subquery(Delivery.filter(activity_id__in=doomed).values("activity_id"))
    return (
        await OutboxActivity.filter(id__in=doomed, public=False).exclude(id__in=referred).delete()
    )
