"""Delivery outcomes: the pure retry policy, and what a real HTTP answer does to a row."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from federation.retry import GIVE_UP_AFTER, MAX_DELAY, Verdict, backoff, decide
from federation.worker import deliver_once
from node.models import Delivery, DeliveryStatus
from node.services import hosts
from node.timeutil import utcnow
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.SENT),
        (202, Verdict.SENT),
        (410, Verdict.FAILED),
        (404, Verdict.FAILED),
        (400, Verdict.FAILED),
        (401, Verdict.RETRY),
        (408, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (None, Verdict.RETRY),
    ],
)
def test_outcome_classes(status: int | None, verdict: Verdict) -> None:
    assert decide(status=status, attempts=1, created_at=NOW, now=NOW).verdict == verdict


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
    assert decide(status=500, attempts=14, created_at=old, now=NOW).verdict == Verdict.FAILED


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
