"""The admins' hold on the delivery queue: send a delivery again now, or give it up.

Statuses move only as `DELIVERY_GRAPH` allows: a failed delivery goes back to pending
("retry now": one more attempt at once, then the usual retry policy, which gives up on
a temporary failure of a delivery older than three days); a pending one is simply due
now; a pending or failed one may be cancelled. A delivery that a worker is sending at
this moment (its lease has not run out) is left alone and not counted.
"""

from __future__ import annotations

from tortoise.expressions import Q

from node import db, queue_signals
from node.errors import NotFound
from node.models import Delivery, HostHealth
from node.states import DELIVERY_GRAPH, DeliveryStatus
from node.timeutil import utcnow

D = DeliveryStatus


def _not_leased() -> Q:
    return Q(locked_until=None) | Q(locked_until__lt=utcnow())


async def _get(delivery_id: int) -> Delivery:
    row = await Delivery.get_or_none(id=delivery_id)
    if row is None:
        raise NotFound(f"no delivery {delivery_id}")
    return row


async def _retry(scope: Q) -> int:
    now = utcnow()
    # Waiting between attempts: not a status change, only due now. (Before the failed
    # ones are revived, so that none is counted twice.)
    hurried = await Delivery.filter(scope, _not_leased(), status=D.PENDING).update(
        next_attempt_at=now
    )
    failed = DELIVERY_GRAPH.checked([D.FAILED], D.PENDING)
    revived = await Delivery.filter(scope, _not_leased(), status__in=failed).update(
        status=D.PENDING, next_attempt_at=now
    )
    if hurried + revived:  # workers of other processes start at the commit, not the poll
        await queue_signals.notify(queue_signals.DELIVERIES)
    return hurried + revived


async def _cancel(scope: Q) -> int:
    sources = DELIVERY_GRAPH.checked([D.PENDING, D.FAILED], D.CANCELLED)
    return await Delivery.filter(scope, _not_leased(), status__in=sources).update(
        status=D.CANCELLED
    )


async def retry_now(delivery_id: int) -> int:
    """Send one failed or pending delivery at the workers' next round; returns 1, or 0
    when it is being sent right now. NotFound, or IllegalTransition if sent or cancelled."""
    row = await _get(delivery_id)
    if row.status != D.PENDING:
        DELIVERY_GRAPH.check(row.status, D.PENDING)
    return await _retry(Q(id=row.id))


async def cancel(delivery_id: int) -> int:
    """Give up one pending or failed delivery; returns 1, or 0 when it is being sent right
    now. NotFound, or IllegalTransition if it was sent or is cancelled already."""
    row = await _get(delivery_id)
    DELIVERY_GRAPH.check(row.status, D.CANCELLED)
    return await _cancel(Q(id=row.id))


async def retry_host(host: str) -> int:
    """Treat `host` as available again and send every failed or pending delivery to it at
    the next round; returns how many deliveries are due now."""
    async with db.atomic():
        await HostHealth.filter(host=host).update(unavailable=False, failure_days=[])
        return await _retry(Q(host=host))


async def cancel_host(host: str) -> int:
    """Give up every delivery to `host` that waits or failed; returns how many."""
    return await _cancel(Q(host=host))


async def cancel_for_activities(activity_ids: list[object]) -> int:
    """Cancel what is still pending of these activities (their post was deleted)."""
    if not activity_ids:
        return 0
    sources = DELIVERY_GRAPH.checked([D.PENDING], D.CANCELLED)
    return await Delivery.filter(activity_id__in=activity_ids, status__in=sources).update(
        status=D.CANCELLED
    )
