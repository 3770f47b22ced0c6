"""Federation health for the admins' page /admin/federation/health.

Which servers we know (host health rows and hosts we deliver to), when delivering to
each last worked or failed and why, which are treated as unavailable, how many
deliveries wait or failed per server, the latest failed and retrying deliveries, and
the inbox queue (pending, retrying, rejected, with the last errors). A node may hold
a hundred thousand deliveries: everything is counted in SQL (GROUP BY host, status),
and only the latest rows are loaded. The admins' actions on deliveries (retry now,
cancel; one delivery or every delivery to a server) are the delivery queue's
(`delivery_queue`); here they are allowed to admins and recorded in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tortoise.functions import Count

from node import db
from node.errors import InvalidInput, PermissionDenied
from node.i18n import N_
from node.models import (
    Account,
    Delivery,
    DeliveryStatus,
    HostHealth,
    InboxItem,
    InboxStatus,
    Role,
)
from node.services import audit, delivery_queue

SERVERS_PER_PAGE = 50
LATEST_FAILURES = 50
LATEST_INBOX_ERRORS = 20
MAX_HOST = 255
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-:[]_")


def _require_admin(by: Account) -> None:
    if by.role != Role.ADMIN or not by.is_active:
        raise PermissionDenied("federation health is for the node's admins")


def clean_host(text: str) -> str:
    """A server's name as deliveries store it (`host` or `host:port`), or InvalidInput."""
    host = (text or "").strip().lower()
    if not host or len(host) > MAX_HOST or not set(host) <= _HOST_CHARS:
        raise InvalidInput("host", N_("This is not the name of a server."))
    return host


@dataclass(slots=True)
class ServerHealth:
    host: str
    unavailable: bool = False
    failure_days: list[str] = field(default_factory=list)
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str = ""
    waiting: int = 0  # deliveries still to be sent
    failed: int = 0  # deliveries given up on

    @property
    def troubled(self) -> bool:
        """Unavailable, failing lately, or with deliveries that failed."""
        failing = self.last_failure_at is not None and (
            self.last_success_at is None or self.last_failure_at > self.last_success_at
        )
        return self.unavailable or failing or self.failed > 0


@dataclass(slots=True)
class ServerPage:
    servers: list[ServerHealth]
    page: int
    pages: int
    total: int
    troubled: int
    waiting: int
    failed: int


async def _delivery_counts() -> dict[str, ServerHealth]:
    rows = (
        await Delivery.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED])
        .annotate(n=Count("id"))
        .group_by("host", "status")
        .values("host", "status", "n")
    )
    servers: dict[str, ServerHealth] = {}
    for row in rows:
        server = servers.setdefault(row["host"], ServerHealth(row["host"]))
        if DeliveryStatus(row["status"]) == DeliveryStatus.PENDING:
            server.waiting = row["n"]
        else:
            server.failed = row["n"]
    return servers


async def servers(page: int = 1) -> ServerPage:
    """Known servers, those in trouble first (then most waiting, then by name), paged."""
    known = await _delivery_counts()
    for row in await HostHealth.all().values(
        "host", "unavailable", "failure_days", "last_success_at", "last_failure_at", "last_error"
    ):
        server = known.setdefault(row["host"], ServerHealth(row["host"]))
        server.unavailable = row["unavailable"]
        server.failure_days = list(row["failure_days"] or [])
        server.last_success_at = row["last_success_at"]
        server.last_failure_at = row["last_failure_at"]
        server.last_error = row["last_error"] or ""
    ordered = sorted(
        known.values(), key=lambda s: (not s.unavailable, not s.troubled, -s.waiting, s.host)
    )
    pages = max(1, -(-len(ordered) // SERVERS_PER_PAGE))
    page = min(max(page, 1), pages)
    start = (page - 1) * SERVERS_PER_PAGE
    return ServerPage(
        servers=ordered[start : start + SERVERS_PER_PAGE],
        page=page,
        pages=pages,
        total=len(ordered),
        troubled=sum(1 for s in ordered if s.troubled),
        waiting=sum(s.waiting for s in ordered),
        failed=sum(s.failed for s in ordered),
    )


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    host: str
    inbox: str
    activity_type: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str
    created_at: datetime
    next_attempt_at: datetime


async def _deliveries(status: DeliveryStatus, *, retrying: bool = False) -> list[DeliveryRow]:
    query = Delivery.filter(status=status)
    if retrying:
        query = query.filter(attempts__gt=0)
    rows = (
        await query.order_by("-id")
        .limit(LATEST_FAILURES)
        .values(
            "id",
            "host",
            "inbox",
            "activity__activity_type",
            "status",
            "attempts",
            "last_status",
            "last_error",
            "created_at",
            "next_attempt_at",
        )
    )
    return [
        DeliveryRow(
            id=r["id"],
            host=r["host"],
            inbox=r["inbox"],
            activity_type=r["activity__activity_type"],
            status=str(DeliveryStatus(r["status"])),
            attempts=r["attempts"],
            last_status=r["last_status"],
            last_error=r["last_error"] or "",
            created_at=r["created_at"],
            next_attempt_at=r["next_attempt_at"],
        )
        for r in rows
    ]


async def failed_deliveries() -> list[DeliveryRow]:
    """The latest deliveries given up on, with the reason."""
    return await _deliveries(DeliveryStatus.FAILED)


async def retrying_deliveries() -> list[DeliveryRow]:
    """The latest deliveries that failed at least once and will be tried again."""
    return await _deliveries(DeliveryStatus.PENDING, retrying=True)


@dataclass(frozen=True, slots=True)
class InboxError:
    id: int
    activity_type: str
    actor_uri: str
    status: str
    outcome: str
    attempts: int
    received_at: datetime


@dataclass(slots=True)
class InboxQueue:
    pending: int
    retrying: int
    rejected: int
    errors: list[InboxError]


async def inbox_queue() -> InboxQueue:
    """How many received activities wait, are tried again or were refused; the last errors."""
    counts = {
        InboxStatus(row["status"]): row["n"]
        for row in await InboxItem.filter(
            status__in=[InboxStatus.PENDING, InboxStatus.RETRY, InboxStatus.REJECTED]
        )
        .annotate(n=Count("id"))
        .group_by("status")
        .values("status", "n")
    }
    rows = (
        await InboxItem.filter(status__in=[InboxStatus.RETRY, InboxStatus.REJECTED])
        .order_by("-id")
        .limit(LATEST_INBOX_ERRORS)
        .values("id", "activity_type", "actor_uri", "status", "outcome", "attempts", "received_at")
    )
    return InboxQueue(
        pending=counts.get(InboxStatus.PENDING, 0),
        retrying=counts.get(InboxStatus.RETRY, 0),
        rejected=counts.get(InboxStatus.REJECTED, 0),
        errors=[
            InboxError(
                id=r["id"],
                activity_type=r["activity_type"],
                actor_uri=r["actor_uri"],
                status=str(InboxStatus(r["status"])),
                outcome=r["outcome"],
                attempts=r["attempts"],
                received_at=r["received_at"],
            )
            for r in rows
        ],
    )


# --- the admins' actions -------------------------------------------------------------------


async def retry_delivery(delivery_id: int, by: Account) -> int:
    """Send one delivery at the next round of the workers (a failed one is revived);
    0 when a worker is sending it right now. NotFound; Conflict if sent or cancelled."""
    _require_admin(by)
    async with db.atomic():
        count = await delivery_queue.retry_now(delivery_id)
        await audit.record(by, "delivery.retried", f"delivery:{delivery_id}")
    return count


async def cancel_delivery(delivery_id: int, by: Account) -> int:
    """Give one waiting or failed delivery up; as `retry_delivery` otherwise."""
    _require_admin(by)
    async with db.atomic():
        count = await delivery_queue.cancel(delivery_id)
        await audit.record(by, "delivery.cancelled", f"delivery:{delivery_id}")
    return count


async def retry_server(host: str, by: Account) -> None:
    """Treat a server as available again and send what waits for it now."""
    _require_admin(by)
    name = clean_host(host)
    async with db.atomic():
        count = await delivery_queue.retry_host(name)
        await audit.record(by, "host.retried", f"host:{name}", detail={"deliveries": count})


async def cancel_server(host: str, by: Account) -> None:
    """Give up on everything waiting for a server."""
    _require_admin(by)
    name = clean_host(host)
    async with db.atomic():
        count = await delivery_queue.cancel_host(name)
        await audit.record(by, "host.cancelled", f"host:{name}", detail={"deliveries": count})
