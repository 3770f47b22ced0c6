"""What moderation here sends elsewhere: Delete of a hidden post, Delete of a suspended
account's actor after 30 days, and a forwarded report as a Flag (Mastodon's shapes)."""

from __future__ import annotations

from datetime import timedelta

from node import db, events
from node.models import Delivery, DeliveryStatus, OutboxActivity, Report
from node.services import posts, remote_actors, sanctions
from node.timeutil import utcnow
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node


async def _follow(node: Node, remote: FakeRemote, name: str, path: str) -> dict:
    follow = remote.activity(name, "Follow", BASE + path)
    await node.post_activity(remote, name, follow)
    await node.work()
    return follow


async def test_a_hidden_post_is_deleted_for_everyone_who_got_it(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    moderator = await factories.moderator()
    await _follow(node, remote, "bob", "/n/jette-centre")  # bob follows only the group
    post = await factories.post(greet, hood, title="Goedkope zonnebrillen")
    await node.work()
    remote.received.clear()
    assert await sanctions.hide_post(moderator, post, "Spam: reclame")
    await node.work()
    [delete] = [r.json for r in remote.received]
    assert (delete["type"], delete["actor"]) == ("Delete", f"{BASE}/@greet")
    assert delete["object"]["type"] == "Tombstone"
    assert delete["object"]["id"] == f"{BASE}/r/{post.id}"
    # Later changes of a hidden post do not federate.
    remote.received.clear()
    await posts.change_status(greet, post, "matched")
    await node.work()
    assert remote.received == []


async def test_a_hidden_posts_text_leaves_the_outbox(node: Node, remote: FakeRemote) -> None:
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    post = await factories.post(greet, hood, title="Mijn adres is Dorpsstraat 3")
    await node.work()

    async def listed() -> list[OutboxActivity]:
        return await OutboxActivity.filter(actor_kind="account", actor_key=greet.id, public=True)

    assert [a.activity_type for a in await listed()] == ["Create"]
    await sanctions.hide_post(await factories.moderator(), post, "Persoonsgegevens")
    await node.work()
    # Only the Delete is left in greet's outbox: the Create with the text is not listed.
    assert [a.activity_type for a in await listed()] == ["Delete"]


async def test_hiding_cancels_what_was_not_sent_yet(node: Node, remote: FakeRemote) -> None:
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    moderator = await factories.moderator()
    await _follow(node, remote, "alice", "/@greet")
    remote.inbox_status = 503
    post = await factories.post(greet, hood)
    await node.work()
    await sanctions.hide_post(moderator, post, "Spam")
    await node.work()
    statuses = {
        (d.activity.activity_type, d.status)
        for d in await Delivery.all().prefetch_related("activity")
        if d.activity.object_uri
    }
    assert ("Create", DeliveryStatus.CANCELLED) in statuses
    assert ("Delete", DeliveryStatus.PENDING) in statuses


async def test_a_suspension_becomes_a_delete_of_the_actor_after_30_days(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    await _follow(node, remote, "alice", "/@greet")
    other = await FakeRemote().start()  # a server that was sent greet's post, then left
    try:
        other.add_actor("carol", 2)
        undo_later = await _follow(node, other, "carol", "/@greet")
        await factories.post(greet, hood)
        await node.work()
        await node.post_activity(other, "carol", other.activity("carol", "Undo", undo_later))
        await node.work()
        remote.received.clear()
        other.received.clear()
        assert await sanctions.suspend_account(await factories.moderator(), greet, "Oplichting")
        await node.work()
        assert remote.received == [] and other.received == []  # not before 30 days
        await sanctions.federate_old_suspensions(utcnow() + timedelta(days=31))
        await node.work()
        got = [*remote.received, *other.received]
    finally:
        await other.stop()
    assert [(r.path, r.json["type"]) for r in got] == [("/inbox", "Delete")] * 2  # once each
    for request in got:
        delete = request.json
        actor = f"{BASE}/@greet"
        assert (delete["type"], delete["actor"], delete["object"]) == ("Delete", actor, actor)
        assert f'keyId="{actor}#main-key"' in request.headers["signature"]


async def test_a_lifted_suspension_sends_nothing(node: Node, remote: FakeRemote) -> None:
    greet = await factories.account("greet")
    await _follow(node, remote, "alice", "/@greet")
    remote.received.clear()
    greet.suspended_at = None
    await greet.save(update_fields=["suspended_at"])
    async with db.atomic():
        await events.emit(events.AccountSuspensionFederated(account_id=greet.id))
    await node.work()
    assert remote.received == []


async def _report(remote: FakeRemote, *, forward: bool = True, uris: list[str]) -> Report:
    reporter = await factories.account("reporter")
    actor = await remote_actors.by_uri(remote.actor_url("alice"))
    async with db.atomic():
        report = await Report.create(
            reporter_account=reporter,
            remote_actor=actor,
            object_uris=uris,
            comment="Reclame onder een hulpvraag",
            category="spam",
            forward=forward,
        )
        await events.emit(events.ReportForwarded(report_id=report.id))
    return report


async def test_a_forwarded_report_is_a_flag_from_the_node(node: Node, remote: FakeRemote) -> None:
    await factories.neighbourhood("jette-centre")
    await _follow(node, remote, "alice", "/n/jette-centre")  # we know alice now
    remote.received.clear()
    note = remote.object_url("spam")
    elsewhere = "https://third.example/notes/1"
    report = await _report(
        remote, uris=[remote.actor_url("alice"), note, f"{BASE}/r/local", elsewhere]
    )
    await node.work()
    [request] = remote.received
    flag = request.json
    assert request.path == "/inbox"  # the shared inbox
    assert (flag["type"], flag["actor"]) == ("Flag", f"{BASE}/actor")
    # Only the reported actor and what is on its server; our URLs and a third server's
    # never leave; the reporter is not named.
    assert flag["object"] == [remote.actor_url("alice"), note]
    assert flag["content"] == "Reclame onder een hulpvraag"
    assert "reporter" not in request.body.decode()
    assert flag["id"].startswith(f"{BASE}/")  # Mastodon keeps it only on our host
    await report.refresh_from_db()
    assert report.forwarded_at is not None

    # Emitting again (a retry) does not send it twice.
    async with db.atomic():
        await events.emit(events.ReportForwarded(report_id=report.id))
    await node.work()
    assert len(remote.received) == 1


async def test_a_report_the_reporter_kept_here_is_not_sent(node: Node, remote: FakeRemote) -> None:
    await factories.neighbourhood("jette-centre")
    await _follow(node, remote, "alice", "/n/jette-centre")
    remote.received.clear()
    report = await _report(remote, forward=False, uris=[remote.actor_url("alice")])
    await node.work()
    assert remote.received == []
    await report.refresh_from_db()
    assert report.forwarded_at is None
