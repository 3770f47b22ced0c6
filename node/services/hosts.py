"""Host health: a server whose deliveries failed on several distinct days is treated as
unavailable (nothing more is queued for it) until it sends us anything again.

Mastodon uses the same rule with seven days; so do we. Each batch of deliveries is
recorded at once (`record_batch`): when delivering to a host last worked, when it last
failed and why, for the federation health page. Only failures that are the host's (no
answer, a server error: `Attempted.host_fault`) count toward unavailability; a 4xx
means the server is up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from node.models import Delivery, HostHealth
from node.states import DELIVERY_GRAPH, DeliveryStatus
from node.timeutil import utcnow

UNAVAILABLE_AFTER_DAYS = 7
HOST_UNAVAILABLE = "host unavailable"


@dataclass(frozen=True, slots=True)
class Attempted:
    """One delivery attempt to `host`, as host health sees it."""

    host: str
    sent: bool
    host_fault: bool = False  # no answer or a 5xx: counts toward unavailability
    error: str = ""  # a short reason (status or network error), never a body


async def record_batch(attempts: Iterable[Attempted], when: datetime | None = None) -> set[str]:
    """Record a batch of attempts: a few statements whatever the number of hosts.

    A host that took any delivery of the batch is healthy; one that only failed by its
    own fault gets today on its list of failure days. Returns the hosts that became
    unavailable (their pending deliveries fail).
    """
    now = when or utcnow()
    sent: set[str] = set()
    errors: dict[str, str] = {}
    faulty: set[str] = set()
    for attempt in attempts:
        if attempt.sent:
            sent.add(attempt.host)
            continue
        errors[attempt.host] = attempt.error[:300]
        if attempt.host_fault:
            faulty.add(attempt.host)
    if sent:
        await HostHealth.bulk_create(
            [
                HostHealth(host=h, last_success_at=now, failure_days=[], unavailable=False)
                for h in sorted(sent)
            ],
            on_conflict=["host"],
            update_fields=["last_success_at", "failure_days", "unavailable", "changed_at"],
        )
    if errors:
        await HostHealth.bulk_create(
            [
                HostHealth(host=h, last_failure_at=now, last_error=e)
                for h, e in sorted(errors.items())
            ],
            on_conflict=["host"],
            update_fields=["last_failure_at", "last_error", "changed_at"],
        )
    return await _count_failure_days(faulty - sent, now)


async def _count_failure_days(hosts: set[str], now: datetime) -> set[str]:
    if not hosts:
        return set()
    day = now.date().isoformat()
    changed: list[HostHealth] = []
    newly: set[str] = set()
    for row in await HostHealth.filter(host__in=sorted(hosts)):
        if day in row.failure_days:
            continue
        row.failure_days = [*row.failure_days, day][-UNAVAILABLE_AFTER_DAYS:]
        if len(row.failure_days) >= UNAVAILABLE_AFTER_DAYS and not row.unavailable:
            row.unavailable = True
            newly.add(row.host)
        row.changed_at = now
        changed.append(row)
    if changed:
        await HostHealth.bulk_update(changed, fields=["failure_days", "unavailable", "changed_at"])
    if newly:
        await _fail_waiting(newly)
    return newly


async def _fail_waiting(hosts: set[str]) -> int:
    """Nothing waits for a dead host: its pending deliveries fail."""
    sources = DELIVERY_GRAPH.checked([DeliveryStatus.PENDING], DeliveryStatus.FAILED)
    return await Delivery.filter(host__in=sorted(hosts), status__in=sources).update(
        status=DeliveryStatus.FAILED, last_error=HOST_UNAVAILABLE
    )


async def record_failure(host: str, when: datetime | None = None, error: str = "") -> bool:
    """Note a failed delivery that is the host's fault; returns whether it is now unavailable."""
    await record_batch([Attempted(host, sent=False, host_fault=True, error=error)], when)
    return await HostHealth.exists(host=host, unavailable=True)


async def record_success(host: str, when: datetime | None = None) -> None:
    await record_batch([Attempted(host, sent=True)], when)


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
