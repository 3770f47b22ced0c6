"""The inbox worker's lanes: on PostgreSQL a batch is worked in several transactions at
once, split by sender; nothing is lost or reordered for a sender, and a database fault
in one lane stops the batch with that fault."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation import worker
from federation.worker import POSTGRES_LANES, _lanes, process_inbox_once
from node.db_faults import fault_of, is_conflict
from node.models import HelpPost, InboxItem, InboxStatus, Response
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node

SENDERS = [f"neighbour{n}" for n in range(7)]


@given(
    st.lists(st.sampled_from([f"https://h{n}.example/u" for n in range(9)]), max_size=60),
    st.integers(min_value=1, max_value=5),
)
def test_a_sender_stays_in_one_lane_in_order(senders: list[str], count: int) -> None:
    items = [InboxItem(id=n, actor_uri=uri) for n, uri in enumerate(senders)]
    lanes = _lanes(items, count)
    assert sorted(item.id for lane in lanes for item in lane) == list(range(len(items)))
    assert len(lanes) <= count and all(lanes)
    for lane in lanes:
        assert [item.id for item in lane] == sorted(item.id for item in lane)
    lane_of = {item.actor_uri: n for n, lane in enumerate(lanes) for item in lane}
    assert all(item.actor_uri in lane_of for item in items)
    assert all(lane_of[item.actor_uri] == n for n, lane in enumerate(lanes) for item in lane)


async def many_replies(node: Node, remote: FakeRemote) -> tuple[list[HelpPost], str]:
    """Each sender replies to each of four posts, starting with a different one (its first
    reply to a post is an offer, which stamps the post: lanes update the same rows in
    different orders); one sender also edits and then deletes a reply, all in one batch.
    Returns the posts and the deleted reply's id."""
    hood = await factories.neighbourhood("jette-centre")
    author = await factories.account("greet")
    posts = [await factories.post(author, hood, title=f"Help {n}") for n in range(4)]
    for index, name in enumerate(SENDERS):
        remote.add_actor(name, key_index=index % 3)
    for index, name in enumerate(SENDERS):
        for post in posts[index % 4 :] + posts[: index % 4]:
            note = remote.note(name, f"{BASE}/r/{post.id}", f"<p>{name} helps</p>")
            assert (
                await node.post_activity(remote, name, remote.activity(name, "Create", note))
            ).status_code == 202
    first = SENDERS[0]
    note = remote.note(first, f"{BASE}/r/{posts[0].id}", "<p>first</p>")
    edited = {**note, "content": "<p>second</p>"}
    tombstone = {"id": note["id"], "type": "Tombstone"}
    for kind, obj in (("Create", note), ("Update", edited), ("Delete", tombstone)):
        assert (
            await node.post_activity(remote, first, remote.activity(first, kind, obj))
        ).status_code == 202
    return posts, note["id"]


async def test_a_batch_from_many_senders_is_stored_whole(node: Node, remote: FakeRemote) -> None:
    posts, deleted = await many_replies(node, remote)
    assert await process_inbox_once(node.fed) == len(posts) * len(SENDERS) + 3
    assert await InboxItem.exclude(status=InboxStatus.PROCESSED).count() == 0
    assert await Response.filter(object_uri=deleted).count() == 0  # in order: made, edited, gone
    for post in posts:
        assert await Response.filter(post=post).count() == len(SENDERS)
        await post.refresh_from_db()
        assert post.first_offer_at is not None


class Cut(Exception):
    """What asyncpg raises for a connection cut mid-statement (SQLSTATE class 08)."""

    sqlstate = "08006"


class Deadlock(Exception):
    """What asyncpg raises when PostgreSQL stops one of two transactions in a deadlock."""

    sqlstate = "40P01"


Cut.__module__ = Deadlock.__module__ = "asyncpg.exceptions"  # as node.db_faults knows them


@pytest.fixture
async def laned_posts(node: Node, remote: FakeRemote, database: str) -> list[HelpPost]:
    """`many_replies` waiting in the inbox of a node that works batches in lanes."""
    if not database.startswith("postgres"):
        pytest.skip("SQLite works a batch in one lane")
    posts, _ = await many_replies(node, remote)
    return posts


async def test_a_fault_in_one_lane_stops_the_batch_and_loses_nothing(
    node: Node, remote: FakeRemote, laned_posts: list[HelpPost], monkeypatch: pytest.MonkeyPatch
) -> None:
    posts = laned_posts
    doomed = remote.actor_url(SENDERS[1])
    real_chunk = worker._run_chunk

    async def cut_for_one_sender(fed, chunk, suspended, *, isolated):
        if any(item.actor_uri == doomed for item in chunk):
            raise Cut("connection lost")
        await real_chunk(fed, chunk, suspended, isolated=isolated)

    monkeypatch.setattr(worker, "_run_chunk", cut_for_one_sender)
    assert fault_of(Cut("connection lost")) is not None
    leases = worker.inbox_leases(node.fed)
    with pytest.raises(Cut):  # the fault itself, which the loop knows; not an ExceptionGroup
        await process_inbox_once(node.fed, leases=leases)
    assert POSTGRES_LANES > 1
    # Not counted as an attempt, nor given up: the loop gives the rows back and goes on.
    assert await InboxItem.filter(status=InboxStatus.REJECTED).count() == 0
    assert await InboxItem.filter(attempts__gt=0).exclude(status=InboxStatus.PROCESSED).count() == 0
    await leases.release()
    monkeypatch.setattr(worker, "_run_chunk", real_chunk)
    while await process_inbox_once(node.fed):
        pass
    assert await InboxItem.exclude(status=InboxStatus.PROCESSED).count() == 0
    for post in posts:
        assert await Response.filter(post=post).count() == len(SENDERS)


async def test_a_chunk_stopped_by_another_lane_is_done_again_uncounted(
    node: Node, laned_posts: list[HelpPost], monkeypatch: pytest.MonkeyPatch
) -> None:
    posts = laned_posts
    real_chunk = worker._run_chunk
    calls: list[bool] = []

    async def deadlocked_once(fed, chunk, suspended, *, isolated):
        calls.append(isolated)
        if len(calls) == 1:  # the first chunk, as if PostgreSQL had chosen it to stop
            raise Deadlock("deadlock detected")
        await real_chunk(fed, chunk, suspended, isolated=isolated)

    monkeypatch.setattr(worker, "_run_chunk", deadlocked_once)
    assert is_conflict(Deadlock("deadlock detected")) and fault_of(Deadlock("x")) is None
    await process_inbox_once(node.fed)
    assert not any(calls)  # never item by item
    assert await InboxItem.exclude(status=InboxStatus.PROCESSED).count() == 0
    assert await InboxItem.exclude(attempts=1).count() == 0  # no attempt counted for it
    for post in posts:
        assert await Response.filter(post=post).count() == len(SENDERS)
