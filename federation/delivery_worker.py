"""The delivery worker: claim due deliveries, send them, commit each outcome as it comes.

A batch is claimed with a short lease (`node.leases`, renewed while the batch runs) and
sent DELIVERY_CONCURRENCY at a time; when only that many are left to start, the next
batch is claimed, so the senders never wait for a claim. Each outcome is committed as
soon as it is known: outcomes that arrive together are written together (`Outcomes`, a
group commit; alike outcomes in one statement, `federation.delivery_sql`), and a
request's slot is freed only once its outcome is committed. So at any moment at most
DELIVERY_CONCURRENCY deliveries are sent without their outcome being stored, and that
is all a killed worker can send twice. A worker that is stopping starts no new request
and gives the rest of its batch back at once (`node.queue_loop.QueueLoop.drain`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

import orjson
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from federation import delivery_sql
from federation.context import Federation
from federation.delivery import apply, deliver
from federation.retry import Decision, Verdict
from node.leases import Leases, lease_length
from node.models import Delivery, OutboxActivity
from node.services import hosts
from node.timeutil import utcnow

DELIVERY_CONCURRENCY = 64
BATCH = 500  # rows claimed at once: one statement, and one host health write, per batch
BATCHES = 20  # claimed by one call at most, so that what it holds and remembers is bounded
CLAIMED = delivery_sql.CLAIMED  # a claimed delivery is pending until its outcome
WRITE_TIMEOUT = 5.0  # seconds a stopping worker waits for the last outcomes to be written


def delivery_leases(fed: Federation) -> Leases:
    return Leases(Delivery, lease_length(fed.settings), Q(status=CLAIMED))


async def _claim(limit: int, leases: Leases) -> list[Delivery]:
    rows = await delivery_sql.claim(limit, utcnow(), leases.until())
    if not rows:
        return rows
    leases.hold(row.id for row in rows)
    # One query for the activities of the whole batch: a fan-out is one activity.
    activities = {
        a.id: a
        for a in await OutboxActivity.filter(id__in={r.activity_id for r in rows})  # type: ignore[attr-defined]
    }
    for row in rows:
        row.activity = activities[row.activity_id]  # type: ignore[attr-defined]
    return rows


def _alike(
    batch: list[tuple[Delivery, dict[str, object], asyncio.Future[None]]],
) -> list[tuple[dict[str, object], list[int]]]:
    """The outcomes of a batch as one UPDATE per set of equal changes, not one per row.

    A fan-out's deliveries that went through all end alike (sent, first attempt, same
    answer), so a group commit of 50 outcomes is one statement. They differ only in the
    moment `apply` set `sent_at`, which is taken from the first of each group. A retry
    has its own jittered time, so each retry keeps its own statement.
    """
    groups: dict[tuple[tuple[str, object], ...], tuple[dict[str, object], list[int]]] = {}
    for row, changes, _ in batch:
        key = tuple((name, value) for name, value in changes.items() if name != "sent_at")
        if key in groups:
            groups[key][1].append(row.id)
        else:
            groups[key] = (changes, [row.id])
    return list(groups.values())


class Outcomes:
    """Commits outcomes as they come: those that arrive during a commit go in the next."""

    def __init__(self, leases: Leases) -> None:
        self.leases = leases
        self._waiting: list[tuple[Delivery, dict[str, object], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, row: Delivery, decision: Decision) -> None:
        """Return once the outcome of `row` is committed; raise if it could not be."""
        changes = apply(row, decision)  # checks the move against the graph
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, changes, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="delivery-outcomes")
        await future

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            groups = _alike(batch)
            try:
                # Usually one statement (a fan-out's outcomes are alike): no BEGIN/COMMIT.
                async with in_transaction() if len(groups) > 1 else contextlib.nullcontext():
                    for changes, ids in groups:
                        # A claimed row was pending; one an admin cancelled meanwhile stays so.
                        await delivery_sql.write_outcome(changes, ids)
            except Exception as exc:  # each sender fails; the loop backs off and releases
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.leases.drop(row.id for row, _, _ in batch)
            for _, _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def finished(self) -> None:
        """Wait until what was recorded is written (or failed)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._writer), WRITE_TIMEOUT)


async def deliver_once(
    fed: Federation,
    limit: int = BATCH,
    *,
    leases: Leases | None = None,
    stopping: asyncio.Event | None = None,
) -> int:
    """Claim due deliveries and send them; returns how many were claimed.

    While the last DELIVERY_CONCURRENCY of a batch are sent, the next batch is claimed
    (when the last claim was full): the senders never wait for a claim, nor for the
    host health of the batch before, to be written.
    """
    leases = leases if leases is not None else delivery_leases(fed)
    rows = await _claim(limit, leases)
    if not rows:
        return 0
    run = _Run(fed, leases, limit, stopping, rows)
    try:
        async with asyncio.TaskGroup() as group:
            run.group = group
            for _ in range(min(DELIVERY_CONCURRENCY, len(rows))):
                group.create_task(run.sender())
    finally:
        await run.outcomes.finished()
    # Rows not started because the worker is stopping go back at once.
    await leases.release(run.claimed)
    await hosts.record_batch(run.attempted)
    return len(run.claimed)


class _Run:
    """One call of `deliver_once`: the rows to send, the senders' shared state."""

    def __init__(
        self,
        fed: Federation,
        leases: Leases,
        limit: int,
        stopping: asyncio.Event | None,
        rows: list[Delivery],
    ) -> None:
        self.fed, self.leases, self.limit = fed, leases, limit
        self.stopping = stopping if stopping is not None else asyncio.Event()
        self.todo: deque[Delivery] = deque()
        self.claimed: list[int] = []
        self.bodies: dict[object, bytes] = {}
        self.outcomes = Outcomes(leases)
        self.attempted: list[hosts.Attempted] = []
        self.group: asyncio.TaskGroup | None = None
        self.refill: asyncio.Task[None] | None = None
        self.more = self._add(rows)  # a full claim: more may be due

    def _add(self, rows: list[Delivery]) -> bool:
        for row in rows:
            # Serialised once per activity, not per delivery: a fan-out is one activity.
            if row.activity.id not in self.bodies:
                self.bodies[row.activity.id] = orjson.dumps(row.activity.payload)
        self.todo.extend(rows)
        self.claimed.extend(row.id for row in rows)
        return len(rows) >= self.limit

    async def _claim_more(self) -> None:
        # The host health of what was sent so far goes first: the next batch's comes later.
        done, self.attempted = self.attempted, []
        await hosts.record_batch(done)
        if self.stopping.is_set() or len(self.claimed) >= BATCHES * self.limit:
            self.more = False  # the queue loop calls again at once for the rest
            return
        self.more = self._add(await _claim(self.limit, self.leases))

    async def sender(self) -> None:
        while True:
            if self.stopping.is_set():
                return  # not started: released by the caller, another worker sends them now
            if not self.todo:
                if self._refilled():
                    return
                with contextlib.suppress(Exception):  # a failed claim fails the whole group
                    await asyncio.shield(self.refill)  # type: ignore[arg-type]
                continue
            row = self.todo.popleft()
            if self.more and len(self.todo) < DELIVERY_CONCURRENCY and self._refilled():
                assert self.group is not None
                self.refill = self.group.create_task(self._claim_more())
            decision = await deliver(self.fed, row, row.activity, self.bodies[row.activity.id])
            await self.outcomes.record(row, decision)
            self.attempted.append(
                hosts.Attempted(
                    host=row.host,
                    sent=decision.verdict == Verdict.SENT,
                    host_fault=decision.host_fault,
                    error=decision.reason,
                )
            )

    def _refilled(self) -> bool:
        """No claim of more rows under way."""
        return self.refill is None or self.refill.done()
