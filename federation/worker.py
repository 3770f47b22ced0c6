"""Workers of the federation queues: inbox items to handlers, deliveries to inboxes.

Both claim rows with a lease (`locked_until`; `FOR UPDATE SKIP LOCKED` on PostgreSQL),
so several processes can share a queue, and a row whose worker died is taken again
when its lease runs out. `run_once` functions do one batch and say how many rows they
handled: the loops call them, and tests call them directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import urlsplit

import orjson
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from federation.context import Federation
from federation.delivery import deliver
from federation.handlers import Incoming, Outcome, handler_for
from federation.retry import Decision, Verdict, backoff
from node.models import Delivery, DeliveryStatus, InboxItem, InboxStatus, OutboxActivity
from node.services import hosts, remote_actors
from node.timeutil import utcnow

log = logging.getLogger("nabuur.worker")

INBOX_LEASE = timedelta(minutes=2)
MAX_INBOX_ATTEMPTS = 5
CHUNK = 10  # inbox items per transaction: a few milliseconds of work
DELIVERY_CONCURRENCY = 64


def _claimable(now) -> Q:
    return Q(locked_until=None) | Q(locked_until__lt=now)


async def _claim_inbox(limit: int) -> list[InboxItem]:
    now = utcnow()
    async with in_transaction():
        due = Q(status=InboxStatus.PENDING) | Q(status=InboxStatus.RETRY, next_attempt_at__lte=now)
        items = (
            await InboxItem.filter(due, _claimable(now))
            .order_by("id")
            .limit(limit)
            .select_for_update(skip_locked=True)
        )
        if items:
            await InboxItem.filter(id__in=[i.id for i in items]).update(
                locked_until=now + INBOX_LEASE
            )
    return items


async def _handle(fed: Federation, item: InboxItem, cache: dict) -> Outcome:
    actor = fed.actors_by_uri.get(item.actor_uri) or await remote_actors.by_uri(item.actor_uri)
    if actor is None:
        return Outcome.rejected("sender no longer known")
    handler = handler_for(item.activity_type)
    if handler is None:
        return Outcome.ignored(f"{item.activity_type} is not supported")
    return await handler(Incoming(fed, actor, item.payload, cache))


async def _process(fed: Federation, item: InboxItem) -> Outcome:
    try:
        async with in_transaction():  # a savepoint: one item's failure undoes only itself
            outcome = await _handle(fed, item, {})
    except Exception as exc:  # a bug or a lost connection must not lose the activity
        log.exception("handling %s %s failed", item.activity_type, item.activity_id)
        note = f"{type(exc).__name__}: {exc}"[:300]
        outcome = (
            Outcome.retry(note)
            if item.attempts + 1 < MAX_INBOX_ATTEMPTS
            else Outcome.rejected(f"gave up: {note}")
        )
    return outcome


async def _record(items: list[InboxItem], outcomes: list[Outcome]) -> None:
    """Write the outcomes: one UPDATE per distinct outcome, not one per item."""
    now = utcnow()
    groups: dict[Outcome, list[InboxItem]] = defaultdict(list)
    for item, outcome in zip(items, outcomes, strict=True):
        groups[outcome].append(item)
    for outcome, group in groups.items():
        if outcome.status == InboxStatus.RETRY:
            for item in group:  # each waits according to its own attempt count
                await InboxItem.filter(id=item.id).update(
                    status=outcome.status,
                    outcome=outcome.note[:300],
                    attempts=item.attempts + 1,
                    locked_until=None,
                    next_attempt_at=now + backoff(item.attempts + 1),
                )
            continue
        await InboxItem.filter(id__in=[i.id for i in group]).update(
            status=outcome.status,
            outcome=outcome.note[:300],
            attempts=F("attempts") + 1,
            locked_until=None,
            processed_at=now,
            next_attempt_at=None,
        )


async def _run_chunk(fed: Federation, chunk: list[InboxItem], *, isolated: bool) -> None:
    async with in_transaction():
        if isolated:  # each item in its own savepoint, its failure recorded as retry
            outcomes = [await _process(fed, item) for item in chunk]
        else:
            cache: dict = {}
            outcomes = [await _handle(fed, item, cache) for item in chunk]
        await _record(chunk, outcomes)
    for item, outcome in zip(chunk, outcomes, strict=True):
        log.info(
            "inbox %s %s: %s %s", item.activity_type, item.activity_id, outcome.status, outcome.note
        )


async def process_inbox_once(fed: Federation, limit: int = 100) -> int:
    """Claim and handle one batch of received activities; returns how many."""
    items = await _claim_inbox(limit)
    # A server that sends us something is up: deliveries to it may resume.
    await hosts.revive(urlsplit(item.actor_uri).netloc.lower() for item in items)
    for start in range(0, len(items), CHUNK):
        # Items share a transaction (a commit per item would cap throughput at the disk's
        # sync rate) and the transaction stays short: on SQLite it holds the one
        # connection, and the inbox must get its turn to store what arrives meanwhile.
        # Optimistically without savepoints; if one item fails, the chunk is rolled back
        # and done again with each item isolated.
        chunk = items[start : start + CHUNK]
        try:
            await _run_chunk(fed, chunk, isolated=False)
        except Exception:
            log.info("an item failed in a batch of %d; redoing it item by item", len(chunk))
            await _run_chunk(fed, chunk, isolated=True)
    return len(items)


async def _claim_deliveries(limit: int, lease: timedelta) -> list[Delivery]:
    now = utcnow()
    async with in_transaction():
        rows = (
            await Delivery.filter(
                _claimable(now), status=DeliveryStatus.PENDING, next_attempt_at__lte=now
            )
            .order_by("next_attempt_at", "id")
            .limit(limit)
            .select_for_update(skip_locked=True)
        )
        if rows:
            await Delivery.filter(id__in=[r.id for r in rows]).update(locked_until=now + lease)
    # One query for the activities of the whole batch: a fan-out is one activity.
    activities = {
        a.id: a
        for a in await OutboxActivity.filter(id__in={r.activity_id for r in rows})  # type: ignore[attr-defined]
    }
    for row in rows:
        row.activity = activities[row.activity_id]  # type: ignore[attr-defined]
    return rows


async def deliver_once(fed: Federation, limit: int = 200) -> int:
    """Claim and send one batch of due deliveries; returns how many were attempted."""
    rows = await _claim_deliveries(limit, timedelta(seconds=fed.settings.delivery_lease_seconds))
    if not rows:
        return 0
    gate = asyncio.Semaphore(DELIVERY_CONCURRENCY)
    bodies = {row.activity.id: orjson.dumps(row.activity.payload) for row in rows}

    async def one(row: Delivery) -> None:
        async with gate:
            decision = await deliver(fed, row, row.activity, bodies[row.activity.id])
        _apply(row, decision)

    await asyncio.gather(*(one(row) for row in rows))
    async with in_transaction():  # one commit for the batch's outcomes
        for row in rows:
            await row.save(update_fields=OUTCOME_FIELDS)
    await _track_hosts(rows)
    return len(rows)


OUTCOME_FIELDS = ["attempts", "locked_until", "last_error", "status", "sent_at", "next_attempt_at"]


def _apply(row: Delivery, decision: Decision) -> None:
    row.attempts += 1
    row.locked_until = None
    row.last_error = decision.reason[:300]
    if decision.verdict == Verdict.SENT:
        row.status, row.sent_at = DeliveryStatus.SENT, utcnow()
    elif decision.verdict == Verdict.FAILED:
        row.status = DeliveryStatus.FAILED
    else:
        row.next_attempt_at = decision.next_attempt_at


async def _track_hosts(rows: list[Delivery]) -> None:
    """Failures on distinct days make a host unavailable; an answer makes it healthy."""
    answered = {r.host for r in rows if r.status == DeliveryStatus.SENT}
    failed = {
        r.host
        for r in rows
        if r.status != DeliveryStatus.SENT and not r.last_error.startswith("HTTP 4")
    }
    await hosts.revive(answered)
    for host in failed - answered:
        await hosts.record_failure(host)


class QueueLoop:
    """Runs `run_once` until the queue is empty, then sleeps until woken or polled."""

    def __init__(
        self,
        name: str,
        run_once: Callable[[], Awaitable[int]],
        wake: asyncio.Event,
        poll_seconds: float = 2.0,
    ) -> None:
        self.name = name
        self.run_once = run_once
        self.wake = wake
        self.poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("worker %s failed; trying again shortly", self.name)
                handled = 0
            if handled:
                continue
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.poll_seconds)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
