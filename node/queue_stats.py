"""What the queues look like now, read from the database: for /metrics and /readyz.

Rows are the truth of the queues (`node.models.queue`, `node.models.events`), so these
figures are the same whichever process or machine asks, and however many workers there
are. Every query is cheap and bounded: the work still to do is found through the
partial indexes the workers use (`inbox_items_todo`, `deliveries_todo`, `events_todo`),
recent progress through a primary-key window of at most `2 * PROGRESS_WINDOW` rows
around a queue's head. Only the counts of finished rows by status for /metrics read a
whole index (inbox items and deliveries, which housekeeping prunes): at most once a
minute per process. Measured on PostgreSQL with a million rows in each table and a
backlog of 20,000 in each queue: /readyz ~15 ms, a scrape ~20 ms (~0.3 s when it
counts the finished rows again).

A queue is *stuck* when work has been due for over `STUCK_AFTER` and nothing of it was
done in that time: a dead or wedged worker, or none running at all (a backlog that is
being worked through is behind, not stuck).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.expressions import Q
from tortoise.functions import Count

from node.models import Delivery, Event, HostHealth, InboxItem, MailMessage
from node.states import DeliveryStatus, InboxStatus, MailStatus
from node.timeutil import utcnow

STUCK_AFTER = timedelta(seconds=60)
# Workers take the oldest rows first, so rows done lately lie near the head of a queue:
# this many ids on either side cover a few workers' batches.
PROGRESS_WINDOW = 1000
# Counting all rows by status reads a whole index (~0.1 s a million rows on PostgreSQL):
# each process does it at most this often. Rows still to do are counted on every call.
COUNTS_MAX_AGE = 60.0
_ACTIVE = {
    InboxItem: (InboxStatus.PENDING, InboxStatus.RETRY),
    Delivery: (DeliveryStatus.PENDING,),
    MailMessage: (MailStatus.PENDING,),
}
# model -> (the connection counted on, when, counts): a test's new database counts anew.
_counted: dict[type, tuple[object, float, dict[str, int]]] = {}


@dataclass
class QueueState:
    """One queue: how much is due, since when, and when work on it was last seen."""

    name: str
    due: int = 0
    due_since: datetime | None = None  # when the longest-waiting due row became due
    last_progress: datetime | None = None
    head_id: int | None = None  # the id the workers take next, roughly

    def lag(self, now: datetime) -> float:
        """Seconds the longest-waiting due row has waited (0 when nothing is due)."""
        if self.due_since is None:
            return 0.0
        return max((now - self.due_since).total_seconds(), 0.0)

    def waiting_long(self, now: datetime) -> bool:
        return self.due > 0 and self.due_since is not None and now - self.due_since > STUCK_AFTER

    def stuck(self, now: datetime) -> str | None:
        """Why this queue is stuck, in plain words, or None."""
        if not self.waiting_long(now):
            return None
        if self.last_progress is not None and now - self.last_progress <= STUCK_AFTER:
            return None
        idle = (
            "nothing was done lately"
            if self.last_progress is None
            else f"nothing done for {int((now - self.last_progress).total_seconds())} s"
        )
        return f"stuck: {self.due} due, the oldest waiting {int(self.lag(now))} s, {idle}"


@dataclass
class QueueFigures:
    now: datetime
    inbox: QueueState
    deliveries: QueueState
    events: QueueState
    events_unhandled: int = 0
    oldest_unhandled_event: datetime | None = None
    unavailable_hosts: int = 0
    inbox_by_status: dict[str, int] = field(default_factory=dict)
    deliveries_by_status: dict[str, int] = field(default_factory=dict)
    mail_by_status: dict[str, int] = field(default_factory=dict)  # e-mail (`node.mail_sender`)

    def queues(self) -> tuple[QueueState, ...]:
        return (self.inbox, self.deliveries, self.events)

    def stuck(self) -> dict[str, str]:
        """The stuck queues by name, each with what is wrong."""
        found = ((q.name, q.stuck(self.now)) for q in self.queues())
        return {name: why for name, why in found if why is not None}

    def families(self) -> Iterator[tuple[str, str, str | None, dict[str, float]]]:
        """(metric name, help, label name, {label value: value}) for /metrics."""
        now = self.now
        yield (
            "nabuur_inbox_items",
            "Received activities in the database, by status",
            "status",
            {s.value: self.inbox_by_status.get(s.value, 0) for s in InboxStatus},
        )
        yield (
            "nabuur_inbox_due",
            "Received activities waiting to be handled now",
            None,
            {"": self.inbox.due},
        )
        yield (
            "nabuur_inbox_lag_seconds",
            "How long the longest-waiting due inbox item has waited",
            None,
            {"": self.inbox.lag(now)},
        )
        yield (
            "nabuur_deliveries",
            "Deliveries in the database, by status (sent, failed: outcomes)",
            "status",
            {s.value: self.deliveries_by_status.get(s.value, 0) for s in DeliveryStatus},
        )
        yield (
            "nabuur_deliveries_due",
            "Deliveries due to be attempted now",
            None,
            {"": self.deliveries.due},
        )
        yield (
            "nabuur_delivery_lag_seconds",
            "How long the longest-waiting due delivery has waited",
            None,
            {"": self.deliveries.lag(now)},
        )
        yield (
            "nabuur_events_unhandled",
            "Domain events not yet acted on: due now, or waiting (leased or backing off)",
            "state",
            {"due": self.events.due, "waiting": self.events_unhandled - self.events.due},
        )
        oldest = self.oldest_unhandled_event
        yield (
            "nabuur_event_lag_seconds",
            "Age of the oldest domain event not yet acted on",
            None,
            {"": 0.0 if oldest is None else max((now - oldest).total_seconds(), 0.0)},
        )
        yield (
            "nabuur_hosts_unavailable",
            "Other servers marked unavailable after days of failed deliveries",
            None,
            {"": self.unavailable_hosts},
        )
        yield (
            "nabuur_mail_messages",
            "E-mails in the database, by status (pending: queue depth; sent, failed: outcomes)",
            "status",
            {s.value: self.mail_by_status.get(s.value, 0) for s in MailStatus},
        )
        stuck = self.stuck()
        yield (
            "nabuur_queue_stuck",
            f"1 when work has been due for over {int(STUCK_AFTER.total_seconds())} s "
            "and none was done meanwhile (as /readyz)",
            "queue",
            {q.name: int(q.name in stuck) for q in self.queues()},
        )


async def _counts_by_status(
    model: type[InboxItem] | type[Delivery] | type[MailMessage],
) -> dict[str, int]:
    """Rows by status: still to do exactly, the finished ones at most COUNTS_MAX_AGE old."""
    client = connections.get("default")
    kept = _counted.get(model)
    if kept is None or kept[0] is not client or time.monotonic() - kept[1] > COUNTS_MAX_AGE:
        rows = await model.annotate(n=Count("id")).group_by("status").values_list("status", "n")
        counts = {str(getattr(status, "value", status)): int(n) for status, n in rows}
        kept = _counted[model] = (client, time.monotonic(), counts)
    counts = dict(kept[2])
    for status in _ACTIVE[model]:
        counts[status.value] = await model.filter(status=status).count()
    return counts


async def _inbox(now: datetime) -> QueueState:
    state = QueueState("inbox")
    pending = InboxItem.filter(status=InboxStatus.PENDING)
    retry_due = InboxItem.filter(status=InboxStatus.RETRY, next_attempt_at__lte=now)
    state.due = await pending.count() + await retry_due.count()
    if not state.due:
        return state
    heads = []
    oldest = await pending.order_by("id").first().values("id", "received_at")
    if oldest:
        heads.append((oldest["received_at"], oldest["id"]))
    retry = await retry_due.order_by("next_attempt_at").first().values("id", "next_attempt_at")
    if retry:
        heads.append((retry["next_attempt_at"], retry["id"]))
    state.due_since = min(since for since, _ in heads)
    state.head_id = min(row_id for _, row_id in heads)
    if state.waiting_long(now):
        done = (
            await _window(InboxItem, state.head_id)
            .filter(processed_at__not_isnull=True)
            .order_by("-processed_at")
            .first()
            .values("processed_at")
        )
        state.last_progress = done["processed_at"] if done else None
    return state


def _window(model: type[InboxItem] | type[Event], head: int) -> Any:
    return model.filter(id__gte=head - PROGRESS_WINDOW, id__lte=head + PROGRESS_WINDOW)


async def _deliveries(now: datetime) -> QueueState:
    state = QueueState("deliveries")
    due = Delivery.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
    state.due = await due.count()
    if not state.due:
        return state
    oldest = await due.order_by("next_attempt_at").first().values("id", "next_attempt_at")
    if oldest:
        state.due_since, state.head_id = oldest["next_attempt_at"], oldest["id"]
    if state.waiting_long(now):
        # Every attempt, sent or not, is written on its host's row (one row per host).
        latest = []
        for column in ("last_success_at", "last_failure_at"):
            row = (
                await HostHealth.filter(**{f"{column}__not_isnull": True})
                .order_by(f"-{column}")
                .first()
                .values(column)
            )
            if row:
                latest.append(row[column])
        state.last_progress = max(latest, default=None)
    return state


async def _events(now: datetime, figures: QueueFigures) -> QueueState:
    state = QueueState("events")
    unhandled = Event.filter(handled_at=None)
    figures.events_unhandled = await unhandled.count()
    if not figures.events_unhandled:
        return state
    oldest = await unhandled.order_by("id").first().values("created_at")
    figures.oldest_unhandled_event = oldest["created_at"] if oldest else None
    due = unhandled.filter(Q(locked_until=None) | Q(locked_until__lt=now))
    state.due = await due.count()
    head = await due.order_by("id").first().values("id", "created_at", "locked_until")
    if not head:
        return state
    # A row whose lease or back-off ran out became due then, not when it was created.
    state.due_since = max(head["created_at"], head["locked_until"] or head["created_at"])
    state.head_id = head["id"]
    if state.waiting_long(now):
        done = (
            await _window(Event, head["id"])
            .filter(handled_at__not_isnull=True)
            .order_by("-handled_at")
            .first()
            .values("handled_at")
        )
        state.last_progress = done["handled_at"] if done else None
    return state


async def collect(*, counts: bool = True) -> QueueFigures:
    """The queues now; `counts=False` skips the counts by status (for /readyz)."""
    now = utcnow()
    figures = QueueFigures(now, await _inbox(now), await _deliveries(now), QueueState("events"))
    figures.events = await _events(now, figures)
    if counts:
        figures.inbox_by_status = await _counts_by_status(InboxItem)
        figures.deliveries_by_status = await _counts_by_status(Delivery)
        figures.mail_by_status = await _counts_by_status(MailMessage)
        figures.unavailable_hosts = await HostHealth.filter(unavailable=True).count()
    return figures
