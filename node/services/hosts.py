"""Host health: a server whose deliveries failed on several distinct days is treated as
unavailable (nothing more is queued for it) until it sends us anything again.

Mastodon uses the same rule with seven days; so do we.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from node.models import Delivery, DeliveryStatus, HostHealth
from node.timeutil import utcnow

UNAVAILABLE_AFTER_DAYS = 7


async def record_failure(host: str, when: datetime | None = None) -> bool:
    """Note a failed delivery; returns whether the host is now unavailable."""
    day = (when or utcnow()).date().isoformat()
    row, _ = await HostHealth.get_or_create(host=host)
    if day not in row.failure_days:
        row.failure_days = [*row.failure_days, day][-UNAVAILABLE_AFTER_DAYS:]
    if len(row.failure_days) >= UNAVAILABLE_AFTER_DAYS and not row.unavailable:
        row.unavailable = True
        await Delivery.filter(host=host, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, last_error="host unavailable"
        )
    await row.save()
    return row.unavailable


async def record_success(host: str) -> None:
    await (
        HostHealth.filter(host=host)
        .exclude(failure_days=[])
        .update(failure_days=[], unavailable=False)
    )


async def revive(hosts: Iterable[str]) -> int:
    """Hosts that answered a delivery or sent us something are healthy again."""
    names = list(set(hosts))
    if not names:
        return 0
    return await HostHealth.filter(host__in=names).update(unavailable=False, failure_days=[])


async def unavailable_among(hosts: Iterable[str]) -> set[str]:
    names = list(set(hosts))
    if not names:
        return set()
    rows = await HostHealth.filter(host__in=names, unavailable=True).values_list("host", flat=True)
    return set(rows)
