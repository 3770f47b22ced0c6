"""The federation queues move only as their declared graphs allow: inbox items through
the worker, deliveries through the worker and the admins' retry and cancel; and host
health records each batch of deliveries."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.handlers import Outcome
from federation.retry import Verdict, decide
from node.errors import IllegalTransition, NotFound
from node.models import Delivery, HostHealth, OutboxActivity
from node.services import delivery_queue, hosts
from node.states import (
    DELIVERY_GRAPH,
    INBOX_GRAPH,
    DeliveryStatus,
    InboxStatus,
    StateGraph,
)
from node.timeutil import utcnow

In, D = InboxStatus, DeliveryStatus
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _moves(graph: StateGraph) -> set[tuple[str, str]]:
    return {(s, t) for s, targets in graph.transitions.items() for t in targets}


def test_inbox_graph_is_exactly_the_agreed_one() -> None:
    """Hardcoded on purpose: a change to the inbox life cycle must change this test too."""
    done = {In.PROCESSED, In.IGNORED, In.REJECTED}
    expected = {(In.PENDING, t) for t in (*done, In.RETRY)} | {
        (In.RETRY, t) for t in (*done, In.RETRY)
    }
    assert _moves(INBOX_GRAPH) == expected
    assert INBOX_GRAPH.initial == In.PENDING and INBOX_GRAPH.terminal == done
    assert INBOX_GRAPH.sources(In.PROCESSED) == {In.PENDING, In.RETRY}


def test_delivery_graph_is_exactly_the_agreed_one() -> None:
    expected = {
        (D.PENDING, D.SENT),
        (D.PENDING, D.FAILED),
        (D.PENDING, D.CANCELLED),
        (D.FAILED, D.PENDING),  # an admin's "retry now"
        (D.FAILED, D.CANCELLED),
    }
    assert _moves(DELIVERY_GRAPH) == expected
    assert DELIVERY_GRAPH.terminal == {D.SENT, D.CANCELLED}
    assert DELIVERY_GRAPH.sources(D.CANCELLED) == {D.PENDING, D.FAILED}


@pytest.mark.parametrize(
    ("graph", "source", "target"),
    [
        pytest.param(g, s, t, id=f"{g.name}:{s}->{t}")
        for g in (INBOX_GRAPH, DELIVERY_GRAPH)
        for s, t in itertools.product(sorted(g.states), repeat=2)
        if not g.allows(s, t)
    ],
)
def test_undeclared_queue_moves_raise(graph: StateGraph, source: str, target: str) -> None:
    with pytest.raises(IllegalTransition):
        graph.check(source, target)
    with pytest.raises(IllegalTransition):
        graph.checked([source], target)


def test_only_declared_states_may_repeat() -> None:
    with pytest.raises(ValueError, match="loops onto itself"):
        StateGraph("x", "a", {"a": {"a", "b"}, "b": set()})
    graph = StateGraph("x", "a", {"a": {"a", "b"}, "b": set()}, repeatable=frozenset({"a"}))
    assert graph.allows("a", "a") and not graph.allows("b", "b")


def test_every_outcome_is_a_legal_move_of_a_claimed_item() -> None:
    outcomes = [
        Outcome.processed(),
        Outcome.ignored("x"),
        Outcome.rejected("x"),
        Outcome.retry("x"),
    ]
    for outcome, claimed in itertools.product(outcomes, (In.PENDING, In.RETRY)):
        INBOX_GRAPH.check(claimed, outcome.status)  # does not raise
    with pytest.raises(IllegalTransition):
        Outcome(In.PENDING)


@given(status=st.one_of(st.none(), st.integers(min_value=100, max_value=599)))
def test_any_answer_gets_a_consistent_decision(status: int | None) -> None:
    decision = decide(status=status, attempts=1, created_at=NOW, now=NOW)
    answered_ok = status is not None and 200 <= status < 300
    assert (decision.verdict == Verdict.SENT) == answered_ok
    # Only no answer or a 5xx (or something no server should send) counts against a host.
    if decision.host_fault:
        assert status is None or not 400 <= status < 500
    if decision.verdict == Verdict.PERMANENT:
        assert status is not None and 400 <= status < 500 and not decision.host_fault
    assert len(decision.reason) <= 300


# --- the admins' retry and cancel ------------------------------------------------------


async def _delivery(host: str = "peer.example", **fields: object) -> Delivery:
    activity, _ = await OutboxActivity.get_or_create(
        activity_uri="http://nabuur.test/activities/1",
        defaults={"activity_type": "Create", "actor_kind": "instance", "payload": {}},
    )
    count = await Delivery.all().count()
    values = {"next_attempt_at": utcnow() + timedelta(hours=1), **fields}
    return await Delivery.create(
        activity=activity, inbox=f"https://{host}/inbox/{count}", host=host, **values
    )


async def test_retry_now_revives_a_failed_delivery(database: str) -> None:
    failed = await _delivery(status=D.FAILED, attempts=5, last_error="HTTP 500; gave up")
    assert await delivery_queue.retry_now(failed.id) == 1
    await failed.refresh_from_db()
    assert failed.status == D.PENDING and failed.next_attempt_at <= utcnow()
    assert failed.attempts == 5  # history stays; the retry policy goes on from it


async def test_retry_now_of_a_waiting_delivery_makes_it_due(database: str) -> None:
    waiting = await _delivery()
    assert await delivery_queue.retry_now(waiting.id) == 1
    await waiting.refresh_from_db()
    assert waiting.status == D.PENDING and waiting.next_attempt_at <= utcnow()


@pytest.mark.parametrize("status", [D.SENT, D.CANCELLED])
async def test_finished_deliveries_cannot_be_retried_or_cancelled(
    database: str, status: DeliveryStatus
) -> None:
    done = await _delivery(status=status)
    with pytest.raises(IllegalTransition):
        await delivery_queue.retry_now(done.id)
    with pytest.raises(IllegalTransition):
        await delivery_queue.cancel(done.id)
    await done.refresh_from_db()
    assert done.status == status


async def test_unknown_deliveries_are_not_found(database: str) -> None:
    for action in (delivery_queue.retry_now, delivery_queue.cancel):
        with pytest.raises(NotFound):
            await action(999_999)


async def test_a_delivery_being_sent_is_left_alone(database: str) -> None:
    busy = await _delivery(locked_until=utcnow() + timedelta(minutes=1))
    assert await delivery_queue.cancel(busy.id) == 0
    await busy.refresh_from_db()
    assert busy.status == D.PENDING


async def test_cancel_gives_up_a_waiting_or_failed_delivery(database: str) -> None:
    waiting, failed = await _delivery(), await _delivery(status=D.FAILED)
    assert await delivery_queue.cancel(waiting.id) == 1
    assert await delivery_queue.cancel(failed.id) == 1
    statuses = set(await Delivery.all().values_list("status", flat=True))
    assert statuses == {D.CANCELLED}


async def test_retry_and_cancel_a_whole_host(database: str) -> None:
    await hosts.record_batch(
        hosts.Attempted("dead.example", sent=False, host_fault=True, error="timed out")
        for _ in range(2)
    )
    for day in range(hosts.UNAVAILABLE_AFTER_DAYS):
        await hosts.record_failure("dead.example", NOW + timedelta(days=day))
    assert await hosts.unavailable_among(["dead.example"]) == {"dead.example"}
    await _delivery("dead.example", status=D.FAILED)
    await _delivery("dead.example")
    await _delivery("dead.example", status=D.SENT)
    other = await _delivery("other.example", status=D.FAILED)

    assert await delivery_queue.retry_host("dead.example") == 2
    assert await hosts.unavailable_among(["dead.example"]) == set()
    rows = await Delivery.filter(host="dead.example").values_list("status", flat=True)
    assert sorted(rows) == [D.PENDING, D.PENDING, D.SENT]

    assert await delivery_queue.cancel_host("dead.example") == 2
    rows = await Delivery.filter(host="dead.example").values_list("status", flat=True)
    assert sorted(rows) == [D.CANCELLED, D.CANCELLED, D.SENT]
    await other.refresh_from_db()
    assert other.status == D.FAILED  # another host's delivery is untouched
    assert await delivery_queue.cancel_host("unknown.example") == 0


# --- host health, per batch ------------------------------------------------------------


async def test_a_batch_records_success_failure_and_why(database: str) -> None:
    await hosts.record_batch(
        [
            hosts.Attempted("up.example", sent=True),
            hosts.Attempted("up.example", sent=False, error="HTTP 410"),
            hosts.Attempted("refusing.example", sent=False, error="HTTP 403"),
            hosts.Attempted("down.example", sent=False, host_fault=True, error="timed out"),
        ],
        NOW,
    )
    rows = {row.host: row for row in await HostHealth.all()}
    assert rows["up.example"].last_success_at == NOW and rows["up.example"].failure_days == []
    assert rows["up.example"].last_failure_at == NOW  # one inbox there refused
    assert rows["refusing.example"].last_error == "HTTP 403"
    # A 4xx says the server is up: no failure day.
    assert rows["refusing.example"].failure_days == []
    assert rows["down.example"].failure_days == [NOW.date().isoformat()]
    assert rows["down.example"].last_error == "timed out"
    assert rows["down.example"].last_success_at is None

    later = NOW + timedelta(days=1)
    await hosts.record_batch([hosts.Attempted("down.example", sent=True)], later)
    down = await HostHealth.get(host="down.example")
    assert down.failure_days == [] and down.last_success_at == later
    assert down.last_failure_at == NOW and down.last_error == "timed out"  # kept for the page


async def test_host_unavailable_after_seven_days_fails_what_waits(database: str) -> None:
    waiting = await _delivery("dead.example")
    for day in range(hosts.UNAVAILABLE_AFTER_DAYS - 1):
        assert not await hosts.record_failure("dead.example", NOW + timedelta(days=day))
    # The same day twice counts once.
    assert not await hosts.record_failure("dead.example", NOW)
    newly = await hosts.record_batch(
        [hosts.Attempted("dead.example", sent=False, host_fault=True, error="no answer")],
        NOW + timedelta(days=hosts.UNAVAILABLE_AFTER_DAYS),
    )
    assert newly == {"dead.example"}
    await waiting.refresh_from_db()
    assert waiting.status == D.FAILED and waiting.last_error == hosts.HOST_UNAVAILABLE
