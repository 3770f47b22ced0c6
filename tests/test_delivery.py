"""Delivery outcomes: the pure retry policy, and what a real HTTP answer does to a row."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from federation import delivery_sql
from federation.delivery import apply
from federation.retry import GIVE_UP_AFTER, MAX_DELAY, Decision, Verdict, backoff, decide
from federation.worker import deliver_once
from node.leases import claimable
from node.models import Delivery, DeliveryStatus, HostHealth, OutboxActivity
from node.services import hosts
from node.timeutil import utcnow
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "verdict", "host_fault"),
    [
        (200, Verdict.SENT, False),
        (202, Verdict.SENT, False),
        (410, Verdict.PERMANENT, False),
        (404, Verdict.PERMANENT, False),
        (400, Verdict.PERMANENT, False),
        (403, Verdict.PERMANENT, False),
        (422, Verdict.PERMANENT, False),
        # The server answered: it is up, whatever it thinks of this delivery.
        (401, Verdict.RETRY, False),
        (408, Verdict.RETRY, False),
        (429, Verdict.RETRY, False),
        # No answer, or a server error: the host's fault, counted toward unavailability.
        (500, Verdict.RETRY, True),
        (502, Verdict.RETRY, True),
        (503, Verdict.RETRY, True),
        (None, Verdict.RETRY, True),
    ],
)
def test_outcome_classes(status: int | None, verdict: Verdict, host_fault: bool) -> None:
    decision = decide(status=status, attempts=1, created_at=NOW, now=NOW)
    assert (decision.verdict, decision.host_fault, decision.answer) == (verdict, host_fault, status)
    assert decision.final == (verdict != Verdict.RETRY)
    assert decision.failed == (verdict == Verdict.PERMANENT)
    assert (decision.next_attempt_at is not None) == (verdict == Verdict.RETRY)


@pytest.mark.parametrize(
    ("status", "error", "refused", "verdict", "reason", "host_fault"),
    [
        (None, "timed out", False, Verdict.RETRY, "timed out", True),
        (None, "", False, Verdict.RETRY, "no answer", True),
        # Our own SSRF rules forbid the address: trying again changes nothing.
        (None, "private address", True, Verdict.PERMANENT, "refused: private address", False),
        (404, "", False, Verdict.PERMANENT, "HTTP 404", False),
        (500, "", False, Verdict.RETRY, "HTTP 500", True),
    ],
)
def test_reasons_are_short_and_say_why(
    status: int | None,
    error: str,
    refused: bool,
    verdict: Verdict,
    reason: str,
    host_fault: bool,
) -> None:
    decision = decide(
        status=status, attempts=1, created_at=NOW, now=NOW, error=error, refused=refused
    )
    assert (decision.verdict, decision.reason, decision.host_fault) == (
        verdict,
        reason,
        host_fault,
    )


@pytest.mark.parametrize(
    ("status", "host_fault"), [(500, True), (None, True), (429, False), (401, False)]
)
def test_giving_up_keeps_whose_fault_it_was(status: int | None, host_fault: bool) -> None:
    old = NOW - GIVE_UP_AFTER
    decision = decide(status=status, attempts=14, created_at=old, now=NOW)
    assert decision.verdict == Verdict.GAVE_UP and decision.failed
    assert decision.host_fault == host_fault and "gave up" in decision.reason


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    delays = [backoff(n, rng) for n in range(1, 20)]
    assert timedelta(seconds=24) <= delays[0] <= timedelta(seconds=36)
    assert delays[3] > delays[2] > delays[1]
    assert all(d <= MAX_DELAY for d in delays)


def test_retry_after_is_honoured_and_old_deliveries_give_up() -> None:
    later = decide(status=429, attempts=1, created_at=NOW, now=NOW, retry_after_header="120")
    assert later.next_attempt_at == NOW + timedelta(seconds=120)
    dated = decide(
        status=503,
        attempts=1,
        created_at=NOW,
        now=NOW,
        retry_after_header="Mon, 23 Nov 2026 12:10:00 GMT",
    )
    assert dated.next_attempt_at == NOW + timedelta(minutes=10)
    old = NOW - GIVE_UP_AFTER
    assert decide(status=500, attempts=14, created_at=old, now=NOW).verdict == Verdict.GAVE_UP
    late = decide(status=429, attempts=1, created_at=old, now=NOW, retry_after_header="60")
    assert late.verdict == Verdict.GAVE_UP


async def _one_delivery(node: Node, remote: FakeRemote) -> Delivery:
    await factories.neighbourhood("jette-centre")
    follow = remote.activity("alice", "Follow", f"{BASE}/n/jette-centre")
    await node.post_activity(remote, "alice", follow)
    await node.work()
    return await Delivery.get()


async def test_gone_inbox_is_not_retried(node: Node, remote: FakeRemote) -> None:
    remote.inbox_status = 410
    delivery = await _one_delivery(node, remote)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert await deliver_once(node.fed) == 0


async def test_down_peer_gets_it_when_back(node: Node, remote: FakeRemote) -> None:
    remote.inbox_status = 503
    delivery = await _one_delivery(node, remote)
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at > utcnow()
    remote.inbox_status = 202
    # Time passes: the retry is due.
    await Delivery.filter(id=delivery.id).update(next_attempt_at=utcnow() - timedelta(seconds=1))
    assert await deliver_once(node.fed) == 1
    await delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2
    assert len(remote.received) == 2


async def test_host_failing_on_seven_days_is_skipped_until_it_speaks(
    node: Node, remote: FakeRemote
) -> None:
    remote.inbox_status = 503
    delivery = await _one_delivery(node, remote)
    host = delivery.host
    for day in range(7):
        await hosts.record_failure(host, NOW + timedelta(days=day))
    assert await hosts.unavailable_among([host]) == {host}
    await delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED  # nothing waits for a dead host

    # New activities for that host are not even queued...
    follow = remote.activity("bob", "Follow", f"{BASE}/n/jette-centre")
    await node.post_activity(remote, "bob", follow)
    # ...until it sends us something: bob's Follow revives it, and his Accept is queued.
    await node.work()
    assert await hosts.unavailable_among([host]) == set()
    assert await Delivery.filter(status=DeliveryStatus.PENDING).count() == 1


async def test_a_batch_tells_host_health_when_and_why(node: Node, remote: FakeRemote) -> None:
    remote.inbox_status = 503
    delivery = await _one_delivery(node, remote)
    health = await HostHealth.get(host=delivery.host)
    assert delivery.last_status == 503 and delivery.last_error == "HTTP 503"
    assert health.last_error == "HTTP 503" and health.last_failure_at is not None
    assert len(health.failure_days) == 1 and health.last_success_at is None

    remote.inbox_status = 202
    await Delivery.filter(id=delivery.id).update(next_attempt_at=utcnow() - timedelta(seconds=1))
    await deliver_once(node.fed)
    await health.refresh_from_db()
    assert health.last_success_at is not None and health.failure_days == []


async def test_a_refusal_is_not_the_hosts_fault(node: Node, remote: FakeRemote) -> None:
    remote.inbox_status = 403
    delivery = await _one_delivery(node, remote)
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_status == 403
    health = await HostHealth.get(host=delivery.host)
    assert health.last_error == "HTTP 403" and health.failure_days == []


async def test_the_hand_written_claim_takes_what_the_rules_call_due(database: str) -> None:
    """`delivery_sql` claims exactly the rows the ORM form of the rules names (due,
    pending, nobody's lease), those due first first, and writes an outcome only to rows
    still pending: a delivery an admin cancelled meanwhile stays cancelled."""
    now = utcnow()
    activity = await OutboxActivity.create(
        activity_uri="https://x.example/a/1", activity_type="Create", actor_kind="instance",
        payload={"type": "Create"},
    )  # fmt: skip
    kinds = {
        "due": {},
        "due earlier": {"next_attempt_at": now - timedelta(minutes=5)},
        "lease ran out": {"locked_until": now - timedelta(seconds=1)},
        "leased": {"locked_until": now + timedelta(seconds=30)},
        "later": {"next_attempt_at": now + timedelta(minutes=1)},
        "sent": {"status": DeliveryStatus.SENT},
        "failed": {"status": DeliveryStatus.FAILED},
        "cancelled": {"status": DeliveryStatus.CANCELLED},
    }
    rows = {
        kind: await Delivery.create(
            activity=activity,
            inbox=f"https://h.example/{n}",
            host="h.example",
            **({"next_attempt_at": now - timedelta(seconds=1)} | fields),
        )
        for n, (kind, fields) in enumerate(kinds.items())
    }
    rule = Delivery.filter(claimable(now), status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
    expected = set(await rule.values_list("id", flat=True))
    until = now + timedelta(seconds=30)
    claimed = await delivery_sql.claim(10, now, until)
    assert {row.id for row in claimed} == expected
    assert claimed[0].id == rows["due earlier"].id  # due first, sent first
    assert {r.locked_until for r in await Delivery.filter(id__in=expected)} == {until}
    assert await delivery_sql.claim(10, now, until) == []  # held now

    due = rows["due"]
    due.status = DeliveryStatus.PENDING
    changes = apply(due, Decision.sent())
    taken = await delivery_sql.write_outcome(changes, [due.id, rows["cancelled"].id])
    assert taken == 1
    await due.refresh_from_db()
    assert (due.status, due.attempts, due.locked_until) == (DeliveryStatus.SENT, 1, None)
    assert (await Delivery.get(id=rows["cancelled"].id)).status == DeliveryStatus.CANCELLED
