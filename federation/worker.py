"""Workers of the federation queues: inbox items to handlers, deliveries to inboxes.

Both claim rows with a lease (`locked_until`; `FOR UPDATE SKIP LOCKED` on PostgreSQL),
so several processes can share a queue, and a row whose worker died is taken again
when its lease runs out. `run_once` functions do one batch and say how many rows they
handled: the loops call them, and tests call them directly. Statuses move only as the
graphs in `node.states` allow; an inbox item goes to the handler registered for its
activity type and the family of its object (`federation.handlers.families`).
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
from federation.delivery import apply, deliver
from federation.handlers import Incoming, Outcome
from federation.handlers.families import dispatch, names_usable_id
from federation.retry import Decision, Verdict, backoff
from node.models import Delivery, InboxItem, OutboxActivity, RemoteActor, RemoteStanding
from node.services import hosts, remote_actors
from node.states import INBOX_GRAPH, DeliveryStatus, InboxStatus
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


SUSPENDED = "actor suspended here"


async def _handle(
    fed: Federation, item: InboxItem, cache: dict, suspended: frozenset[str]
) -> Outcome:
    # Moderators dropped this account's activities (a limited one is still heard). Read
    # fresh per batch (`_suspended_among`), not from the actor cache, which may be older.
    if item.actor_uri in suspended:
        return Outcome.rejected(SUSPENDED)
    actor = fed.actors_by_uri.get(item.actor_uri) or await remote_actors.by_uri(item.actor_uri)
    if actor is None:
        return Outcome.rejected("sender no longer known")
    incoming = Incoming(fed, actor, item.payload, cache)
    if not names_usable_id(incoming.object):
        return Outcome.rejected("the object's id is not a usable URL")
    family, handler = await dispatch(incoming, item.activity_type)
    if handler is None:
        what = item.activity_type if family is None else f"{item.activity_type} of {family}"
        return Outcome.ignored(f"{what} is not supported")
    return await handler(incoming)


async def _suspended_among(items: list[InboxItem]) -> frozenset[str]:
    """The senders of `items` that moderators suspended here (one query per batch)."""
    uris = list({item.actor_uri for item in items})
    if not uris:
        return frozenset()
    rows = await RemoteActor.filter(uri__in=uris, standing=RemoteStanding.SUSPENDED).values_list(
        "uri", flat=True
    )
    return frozenset(rows)


async def _process(fed: Federation, item: InboxItem, suspended: frozenset[str]) -> Outcome:
    try:
        async with in_transaction():  # a savepoint: one item's failure undoes only itself
            outcome = await _handle(fed, item, {}, suspended)
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
    """Write the outcomes: one UPDATE per distinct outcome, not one per item.

    Each move is checked against INBOX_GRAPH, and the UPDATE touches only rows still in
    a state that may make it (a claimed item is pending or retrying).
    """
    now = utcnow()
    groups: dict[Outcome, list[InboxItem]] = defaultdict(list)
    for item, outcome in zip(items, outcomes, strict=True):
        INBOX_GRAPH.check(item.status, outcome.status)
        groups[outcome].append(item)
    for outcome, group in groups.items():
        sources = INBOX_GRAPH.sources(outcome.status)
        if outcome.status == InboxStatus.RETRY:
            for item in group:  # each waits according to its own attempt count
                await InboxItem.filter(id=item.id, status__in=sources).update(
                    status=outcome.status,
                    outcome=outcome.note[:300],
                    attempts=item.attempts + 1,
                    locked_until=None,
                    next_attempt_at=now + backoff(item.attempts + 1),
                )
            continue
        await InboxItem.filter(id__in=[i.id for i in group], status__in=sources).update(
            status=outcome.status,
            outcome=outcome.note[:300],
            attempts=F("attempts") + 1,
            locked_until=None,
            processed_at=now,
            next_attempt_at=None,
        )


async def _run_chunk(
    fed: Federation, chunk: list[InboxItem], suspended: frozenset[str], *, isolated: bool
) -> None:
    async with in_transaction():
        if isolated:  # each item in its own savepoint, its failure recorded as retry
            outcomes = [await _process(fed, item, suspended) for item in chunk]
        else:
            cache: dict = {}
            outcomes = [await _handle(fed, item, cache, suspended) for item in chunk]
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
    suspended = await _suspended_among(items)
    for start in range(0, len(items), CHUNK):
        # Items share a transaction (a commit per item would cap throughput at the disk's
        # sync rate) and the transaction stays short: on SQLite it holds the one
        # connection, and the inbox must get its turn to store what arrives meanwhile.
        # Optimistically without savepoints; if one item fails, the chunk is rolled back
        # and done again with each item isolated.
        chunk = items[start : start + CHUNK]
        try:
            await _run_chunk(fed, chunk, suspended, isolated=False)
        except Exception:
            log.info("an item failed in a batch of %d; redoing it item by item", len(chunk))
            await _run_chunk(fed, chunk, suspended, isolated=True)
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
    decisions: dict[int, Decision] = {}

    async def one(row: Delivery) -> None:
        async with gate:
            decisions[row.id] = await deliver(fed, row, row.activity, bodies[row.activity.id])

    await asyncio.gather(*(one(row) for row in rows))
    async with in_transaction():  # one commit for the batch's outcomes
        for row in rows:
            changes = apply(row, decisions[row.id])  # checks the move against the graph
            # Claimed rows were pending; one that an admin cancelled meanwhile stays so.
            await Delivery.filter(id=row.id, status=DeliveryStatus.PENDING).update(**changes)
    await hosts.record_batch(
        hosts.Attempted(
            host=row.host,
            sent=decisions[row.id].verdict == Verdict.SENT,
            host_fault=decisions[row.id].host_fault,
            error=decisions[row.id].reason,
        )
        for row in rows
    )
    return len(rows)


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
