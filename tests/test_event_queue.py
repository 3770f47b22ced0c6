"""The events queue: only events other servers need are queued, and publishing goes first.

Each event kind declares whether it federates and whether it is urgent (`node.events`);
federation's `CONSUMERS` must agree with that both ways. A reply's event is stored
already handled, so a flood of replies queues nothing; a backlog of events that do
federate but are not urgent (an expiry burst, or rows left from before the upgrade)
does not hold back a new request: its Create is built in the first batch. On SQLite and
PostgreSQL.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass

from federation import follows_outgoing
from federation.event_consumer import CONSUMERS, consume_events_once
from node import db, events, uris
from node.models import Event, OutboxActivity
from node.services import responses
from tests import factories
from tests.federation_fixtures import Node

NON_FEDERATED = {kind.__name__ for kind in events.ALL_EVENTS if not kind.federates}


def test_declarations_and_consumers_agree_both_ways() -> None:
    declared = {kind.__name__: kind for kind in events.ALL_EVENTS}
    # Every consumer has a declared event, and every event declared to federate has one.
    assert set(CONSUMERS) <= set(declared)
    assert {name for name, kind in declared.items() if kind.federates} == set(CONSUMERS)
    assert events.URGENT_KINDS and set(CONSUMERS) > events.URGENT_KINDS
    assert "PostPublished" in events.URGENT_KINDS and "ResponseCreated" in NON_FEDERATED
    # The union is complete: every event class of the module is in it.
    classes = {
        name
        for name, value in vars(events).items()
        if isinstance(value, type) and issubclass(value, events.Declared) and is_dataclass(value)
    }
    assert classes == set(declared)


async def test_a_follow_from_elsewhere_needs_nothing_from_federation() -> None:
    """FollowChanged decides per event: only a local decision on a remote follower is
    sent (the inbox answered the others); its consumer agrees."""
    arrived = events.FollowChanged(1, "accepted")
    decided = events.FollowChanged(1, "accepted", decided_locally=True)
    assert not arrived.needs_federation() and decided.needs_federation()
    # The consumer returns before touching anything for an event it would not send.
    assert await follows_outgoing.on_follow_changed(None, asdict(arrived)) is None  # type: ignore[arg-type]


async def test_replies_are_history_not_work(database: str) -> None:
    author = await factories.account("amina")
    post = await factories.post(author, await factories.neighbourhood("kuregem"))
    await responses.add_comment(await factories.account("bram"), post, "Ik kan zaterdag")
    await responses.offer_help(await factories.account("chloe"), post, "Ik ook")
    replies = await Event.filter(kind="ResponseCreated")
    assert len(replies) == 2 and all(row.handled_at is not None for row in replies)
    # Only the post's own event is waiting for federation.
    pending = await Event.filter(handled_at=None).values_list("kind", flat=True)
    assert pending == ["PostPublished"]


async def test_a_new_request_is_published_in_the_first_batch(node: Node) -> None:
    hood = await factories.neighbourhood("kuregem")
    author = await factories.account("amina")
    older = await factories.post(author, hood)
    await Event.filter(handled_at=None).update(handled_at=older.created_at)
    async with db.atomic():  # a flood of replies, through emit as the services do
        for _ in range(2000):
            await events.emit(events.ResponseCreated(str(older.id), str(older.id)))
    # A backlog of events that federate but are not urgent: a burst of expiries, say.
    await Event.bulk_create(
        [
            Event(
                kind="PostStatusChanged",
                payload={
                    "post_id": str(older.id),
                    "old": "open",
                    "new": "expired",
                    "by_account_id": None,
                },
            )
            for _ in range(2000)
        ]
    )
    post = await factories.post(author, hood, title="Boodschappen doen")
    assert await Event.filter(handled_at=None).count() == 2001

    claimed = await consume_events_once(node.fed, limit=100)

    assert claimed == 100
    note_id = uris.absolute(node.settings, uris.post(post.id))
    built = await OutboxActivity.filter(object_uri=note_id).values_list("activity_type", flat=True)
    assert sorted(built) == ["Announce", "Create"]  # the author's, and its neighbourhood's
    assert await Event.filter(kind="PostPublished", handled_at=None).count() == 0
    # The backlog is worked in order after it: 99 of its oldest went in the same batch.
    assert await Event.filter(kind="PostStatusChanged", handled_at=None).count() == 2000 - 99
