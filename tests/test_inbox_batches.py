"""The inbox worker's batches: what a batch of activities leaves behind when its items
depend on each other (the worker writes a batch's notifications and events at its end,
`raw_sql.deferred_inserts`)."""

from __future__ import annotations

import pytest

from node.models import InboxItem, InboxStatus, Notification, Response
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node


async def test_a_batch_with_replies_and_a_deletion_notifies_only_for_what_remains(
    node: Node, remote: FakeRemote, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker writes a batch's notifications at its end (`raw_sql.deferred_inserts`):
    a reply deleted within the same batch leaves no notification behind, and every other
    reply of the batch notifies its author."""
    hood = await factories.neighbourhood("jette-centre")
    author = await factories.account("greet")
    post = await factories.post(author, hood)
    notes = [remote.note("alice", f"{BASE}/r/{post.id}", f"<p>reply {i}</p>") for i in range(4)]
    for note in notes:
        await node.post_activity(remote, "alice", remote.activity("alice", "Create", note))
    tombstone = {"id": notes[1]["id"], "type": "Tombstone"}
    await node.post_activity(remote, "alice", remote.activity("alice", "Delete", tombstone))
    await node.work()
    kept = await Response.filter(post=post).order_by("created_at").values_list("body", flat=True)
    assert kept == ["reply 0", "reply 2", "reply 3"]
    notified = await Notification.filter(recipient=author).values_list("response_id", flat=True)
    assert sorted(map(str, notified)) == sorted(
        str(r) for r in await Response.filter(post=post).values_list("id", flat=True)
    )
    assert await InboxItem.filter(status=InboxStatus.PROCESSED).count() == 5
    # In one go: the waiting notifications were written before the deletion, not after it
    # (which would fail the batch and have it redone item by item).
    assert "an item failed in a batch" not in caplog.text
