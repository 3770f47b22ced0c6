"""Workers of the federation queues: inbox items to handlers, deliveries to inboxes.

Both claim rows with a short lease (`node.leases`; `FOR UPDATE SKIP LOCKED` on
PostgreSQL), renewed while they work, so several processes can share a queue and a row
whose worker died is taken again within one lease. `run_once` functions do one batch
and say how many rows they claimed: the loops (`node.queue_loop`) call them, and tests
call them directly. Statuses move only as the graphs in `node.states` allow; an inbox
item goes to the handler registered for its activity type and the family of its object
(`federation.handlers.families`); on PostgreSQL a batch is split by sender into lanes
worked side by side, each sender's activities in the order they came (between senders
the order is not kept, as between two worker processes). Deliveries are sent by
`federation.delivery_worker`.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import defaultdict
from collections.abc import Coroutine, Iterable
from typing import Any
from urllib.parse import urlsplit

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from federation.context import Federation
from federation.delivery_worker import DELIVERY_CONCURRENCY, deliver_once, delivery_leases
from federation.handlers import Incoming, Outcome
from federation.handlers.families import dispatch, names_usable_id
from federation.retry import backoff
from node import raw_sql
from node.db import is_sqlite
from node.db_faults import fault_of, is_conflict
from node.leases import Leases, claimable, lease_length
from node.models import InboxItem, RemoteActor, RemoteStanding
from node.queue_loop import QueueLoop
from node.services import hosts, remote_actors
from node.states import INBOX_GRAPH, InboxStatus
from node.timeutil import utcnow

__all__ = [
    "DELIVERY_CONCURRENCY",
    "QueueLoop",
    "deliver_once",
    "delivery_leases",
    "inbox_leases",
    "process_inbox_once",
]

log = logging.getLogger("nabuur.worker")

MAX_INBOX_ATTEMPTS = 5
CHUNK = 10  # inbox items per transaction: a few milliseconds of work
# On PostgreSQL a chunk spends most of its time waiting for the server's answers (one
# process drained ~850 replies/s using half a core; 2 lanes ~1,330/s, 3 ~1,430/s, 4
# ~1,490/s), so chunks of different senders run side by side, each in its own
# transaction on its own connection of the pool. Two, not more: a handler may fetch a
# document from another server inside its transaction (up to 30 s), and the pool's
# other three connections serve the inbox writer, the other queues and the forms
# meanwhile. SQLite writes one transaction at a time.
POSTGRES_LANES = 2
CONFLICT_RETRIES = 2  # a chunk stopped by another lane's transaction is done again
# Activities handled with the batch's notifications and events still waiting to be written
# (`raw_sql.deferred_inserts`): none of them deletes anything those rows refer to.
DEFERRABLE = frozenset({"Create", "Like", "Announce", "Follow"})
# A claimed item is pending or waiting for a retry until its outcome is written.
CLAIMED = (InboxStatus.PENDING, InboxStatus.RETRY)


def inbox_leases(fed: Federation) -> Leases:
    return Leases(InboxItem, lease_length(fed.settings), Q(status__in=CLAIMED))


async def _claim_inbox(limit: int, leases: Leases) -> list[InboxItem]:
    now = utcnow()
    async with in_transaction():
        due = Q(status=InboxStatus.PENDING) | Q(status=InboxStatus.RETRY, next_attempt_at__lte=now)
        items = (
            await InboxItem.filter(due, claimable(now))
            .order_by("id")
            .limit(limit)
            .select_for_update(skip_locked=True)
        )
        if items:
            await InboxItem.filter(id__in=[i.id for i in items]).update(locked_until=leases.until())
    leases.hold(item.id for item in items)
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
    except Exception as exc:  # a bug must not lose the activity
        if fault_of(exc) is not None:
            # The database, not this item, failed: no attempt is counted (five cuts would
            # otherwise give the activity up); the loop waits for the database instead.
            raise
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
            # Notifications and events go as one INSERT each at the chunk's end; if an
            # item fails, the chunk is redone item by item, writing them at once.
            async with raw_sql.deferred_inserts():
                outcomes = []
                for item in chunk:
                    if item.activity_type not in DEFERRABLE:
                        await raw_sql.flush_deferred()  # it may delete what they refer to
                    outcomes.append(await _handle(fed, item, cache, suspended))
        await _record(chunk, outcomes)
    for item, outcome in zip(chunk, outcomes, strict=True):
        log.info(
            "inbox %s %s: %s %s", item.activity_type, item.activity_id, outcome.status, outcome.note
        )


async def process_inbox_once(
    fed: Federation,
    limit: int = 100,
    *,
    leases: Leases | None = None,
    stopping: asyncio.Event | None = None,
) -> int:
    """Claim and handle one batch of received activities; returns how many were claimed.

    A worker that is `stopping` finishes the chunk it is in and gives the rest back.
    """
    leases = leases if leases is not None else inbox_leases(fed)
    items = await _claim_inbox(limit, leases)
    # A server that sends us something is up: deliveries to it may resume.
    await hosts.revive(urlsplit(item.actor_uri).netloc.lower() for item in items)
    suspended = await _suspended_among(items)
    lanes = 1 if is_sqlite(fed.settings.database_url) else POSTGRES_LANES
    await _all_or_none(
        _run_lane(fed, lane, suspended, leases, stopping) for lane in _lanes(items, lanes)
    )
    return len(items)


def _lanes(items: list[InboxItem], count: int) -> list[list[InboxItem]]:
    """`items` split by sender: one sender's activities stay in one lane, in order."""
    lanes: list[list[InboxItem]] = [[] for _ in range(count)]
    for item in items:
        lanes[zlib.crc32(item.actor_uri.encode()) % count].append(item)
    return [lane for lane in lanes if lane]


async def _all_or_none(runs: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run `runs` at once; if one fails, stop the others and raise its error as it is
    (the loop tells a database fault from a bug by it, not by an ExceptionGroup)."""
    tasks = [asyncio.ensure_future(run) for run in runs]
    try:
        for task in asyncio.as_completed(tasks):
            await task
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _run_lane(
    fed: Federation,
    items: list[InboxItem],
    suspended: frozenset[str],
    leases: Leases,
    stopping: asyncio.Event | None,
) -> None:
    for start in range(0, len(items), CHUNK):
        if stopping is not None and stopping.is_set():
            released = await leases.release(item.id for item in items[start:])
            log.info("stopping: %d inbox items given back to the queue", released)
            return
        # Items share a transaction (a commit per item would cap throughput at the disk's
        # sync rate) and the transaction stays short: on SQLite it holds the one
        # connection, and the inbox must get its turn to store what arrives meanwhile.
        # Optimistically without savepoints; if one item fails, the chunk is rolled back
        # and done again with each item isolated.
        chunk = items[start : start + CHUNK]
        await _run_whole_or_item_by_item(fed, chunk, suspended)
        leases.drop(item.id for item in chunk)


async def _run_whole_or_item_by_item(
    fed: Federation, chunk: list[InboxItem], suspended: frozenset[str]
) -> None:
    for attempt in range(CONFLICT_RETRIES + 1):
        try:
            await _run_chunk(fed, chunk, suspended, isolated=False)
            return
        except Exception as exc:
            if fault_of(exc) is not None:
                raise  # redoing item by item on a database that is away only fails ten times
            # Another lane's transaction got in the way and PostgreSQL stopped this one:
            # the other has finished since, so the chunk goes through done again, and
            # no item has an attempt counted for it.
            if not is_conflict(exc) or attempt == CONFLICT_RETRIES:
                break
            log.info("a batch of %d met another lane's transaction; doing it again", len(chunk))
    log.info("an item failed in a batch of %d; redoing it item by item", len(chunk))
    await _run_chunk(fed, chunk, suspended, isolated=True)
