"""The delivery worker: claim due deliveries, send them, commit each outcome as it comes.

A batch is claimed with a short lease (`node.leases`, renewed while the batch runs) and
sent DELIVERY_CONCURRENCY at a time. Each outcome is committed as soon as it is known:
outcomes that arrive together share one transaction (`Outcomes`, a group commit), and
a request's slot is freed only once its outcome is committed. So at any moment at most
DELIVERY_CONCURRENCY deliveries are sent without their outcome being stored, and that
is all a killed worker can send twice. A worker that is stopping starts no new request
and gives the rest of its batch back at once (`node.queue_loop.QueueLoop.drain`).
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from federation.context import Federation
from federation.delivery import apply, deliver
from federation.retry import Decision, Verdict
from node.leases import Leases, claimable, lease_length
from node.models import Delivery, OutboxActivity
from node.services import hosts
from node.states import DeliveryStatus
from node.timeutil import utcnow

DELIVERY_CONCURRENCY = 64
CLAIMED = DeliveryStatus.PENDING  # a claimed delivery is pending until its outcome
WRITE_TIMEOUT = 5.0  # seconds a stopping worker waits for the last outcomes to be written


def delivery_leases(fed: Federation) -> Leases:
    return Leases(Delivery, lease_length(fed.settings), Q(status=CLAIMED))


async def _claim(limit: int, leases: Leases) -> list[Delivery]:
    now = utcnow()
    async with in_transaction():
        rows = (
            await Delivery.filter(claimable(now), status=CLAIMED, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .limit(limit)
            .select_for_update(skip_locked=True)
        )
        if rows:
            await Delivery.filter(id__in=[r.id for r in rows]).update(locked_until=leases.until())
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
            try:
                async with in_transaction():
                    for row, changes, _ in batch:
                        # A claimed row was pending; one an admin cancelled meanwhile stays so.
                        await Delivery.filter(id=row.id, status=CLAIMED).update(**changes)
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
    limit: int = 200,
    *,
    leases: Leases | None = None,
    stopping: asyncio.Event | None = None,
) -> int:
    """Claim and send one batch of due deliveries; returns how many were claimed."""
    leases = leases if leases is not None else delivery_leases(fed)
    rows = await _claim(limit, leases)
    if not rows:
        return 0
    gate = asyncio.Semaphore(DELIVERY_CONCURRENCY)
    bodies = {row.activity.id: orjson.dumps(row.activity.payload) for row in rows}
    outcomes = Outcomes(leases)
    attempted: list[hosts.Attempted] = []

    async def one(row: Delivery) -> None:
        async with gate:
            if stopping is not None and stopping.is_set():
                return  # not started: released below, another worker sends it now
            decision = await deliver(fed, row, row.activity, bodies[row.activity.id])
            await outcomes.record(row, decision)
            attempted.append(
                hosts.Attempted(
                    host=row.host,
                    sent=decision.verdict == Verdict.SENT,
                    host_fault=decision.host_fault,
                    error=decision.reason,
                )
            )

    try:
        async with asyncio.TaskGroup() as group:
            for row in rows:
                group.create_task(one(row))
    finally:
        await outcomes.finished()
    # Rows not started because the worker is stopping go back at once.
    await leases.release(row.id for row in rows)
    await hosts.record_batch(attempted)
    return len(rows)
