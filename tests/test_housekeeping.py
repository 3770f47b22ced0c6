"""Housekeeping: finished queue rows are pruned after the retention period, and nothing a
page, an ActivityPub GET or a later Delete needs goes with them. On SQLite and PostgreSQL.

The rules are checked row by row on a hand-made queue; then a real flow (follows,
a post delivered to a FakeRemote server, a reply) is pruned as if three weeks had
passed, and the outbox, the admins' federation pages and a later Delete still work.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from node.app import periodic_jobs
from node.config import Settings, SettingsError, load_settings
from node.models import (
    Delivery,
    DeliveryStatus,
    Event,
    InboxItem,
    InboxStatus,
    OutboxActivity,
    OutgoingFollow,
    RemoteActor,
    Response,
    Role,
)
from node.services import housekeeping, posts
from node.timeutil import utcnow
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node
from tests.webclient import browser

NOW = utcnow()
OLD = NOW - timedelta(days=20)
YOUNG = NOW - timedelta(days=2)
SETTINGS = Settings()  # 14 days


async def inbox_item(status: InboxStatus, at: datetime) -> InboxItem:
    row = await InboxItem.create(
        activity_id=f"https://m.example/{uuid.uuid4()}",
        activity_type="Create",
        actor_uri="https://m.example/users/anna",
        payload={},
        status=status,
        processed_at=None if status in (InboxStatus.PENDING, InboxStatus.RETRY) else at,
    )
    await InboxItem.filter(id=row.id).update(received_at=at)
    return row


async def event(at: datetime, *, handled: bool) -> Event:
    row = await Event.create(kind="PostPublished", payload={}, handled_at=at if handled else None)
    await Event.filter(id=row.id).update(created_at=at)
    return row


async def activity(
    kind: str, *, about: str | None = None, public: bool = False, at: datetime = OLD
) -> OutboxActivity:
    key = uuid.uuid4()
    uri = f"{BASE}/activities/{key}"
    await OutboxActivity.create(
        id=key,
        activity_uri=uri,
        activity_type=kind,
        actor_kind="instance",
        payload={"id": uri, "type": kind, "actor": f"{BASE}/actor"},
        public=public,
        object_uri=about,
    )
    await OutboxActivity.filter(id=key).update(created_at=at)
    return await OutboxActivity.get(id=key)


async def delivery(
    of: OutboxActivity, status: DeliveryStatus, at: datetime = OLD, *, due: datetime | None = None
) -> Delivery:
    row = await Delivery.create(
        activity=of,
        inbox=f"https://m.example/inbox/{uuid.uuid4()}",
        host="m.example",
        status=status,
        next_attempt_at=due or at,
        sent_at=at if status == DeliveryStatus.SENT else None,
    )
    await Delivery.filter(id=row.id).update(created_at=at)
    return row


async def ids(model: type) -> set[object]:
    return set(await model.all().values_list("id", flat=True))


async def test_what_is_pruned_and_what_stays(database: str) -> None:
    gone: dict[type, set[object]] = {InboxItem: set(), Event: set(), Delivery: set()}
    gone[OutboxActivity] = set()
    for status in (InboxStatus.PROCESSED, InboxStatus.IGNORED, InboxStatus.REJECTED):
        gone[InboxItem].add((await inbox_item(status, OLD)).id)
    await inbox_item(InboxStatus.PROCESSED, YOUNG)
    await inbox_item(InboxStatus.PENDING, OLD)
    await inbox_item(InboxStatus.RETRY, OLD)
    gone[Event].add((await event(OLD, handled=True)).id)
    await event(YOUNG, handled=True)
    await event(OLD, handled=False)

    # An Accept sent long ago: its delivery and then the activity go.
    accept = await activity("Accept")
    gone[Delivery].add((await delivery(accept, DeliveryStatus.SENT)).id)
    gone[OutboxActivity].add(accept.id)
    # Failed and cancelled long ago go, and then the activity; one an admin sent again
    # lately stays.
    flag = await activity("Flag")
    gone[OutboxActivity].add(flag.id)
    gone[Delivery].add((await delivery(flag, DeliveryStatus.FAILED)).id)
    gone[Delivery].add((await delivery(flag, DeliveryStatus.CANCELLED)).id)
    retried = await activity("Flag")
    await delivery(retried, DeliveryStatus.FAILED, due=YOUNG)
    # Still pending, or sent lately: the rows and their activities stay.
    await delivery(await activity("Accept"), DeliveryStatus.PENDING)
    await delivery(await activity("Reject"), DeliveryStatus.SENT, YOUNG)
    await activity("Accept", at=YOUNG)
    # The Follow of an outgoing follow stays for its Undo; its delivery goes.
    follow = await activity("Follow")
    gone[Delivery].add((await delivery(follow, DeliveryStatus.SENT)).id)
    target = await RemoteActor.create(
        uri="https://m.example/actor",
        domain="m.example",
        inbox="https://m.example/inbox",
        key_id="https://m.example/actor#main-key",
        public_key_pem="",
        fetched_at=NOW,
    )
    await OutgoingFollow.create(
        local_kind="instance", target=target, activity_uri=follow.activity_uri
    )
    # A live post: its Create (public, in the outbox) and its deliveries stay, and so do
    # a message about a response never deleted: they say who holds a copy.
    live = f"{BASE}/r/{uuid.uuid4()}"
    await delivery(await activity("Create", about=live, public=True), DeliveryStatus.SENT)
    await delivery(await activity("Create", about=f"{live}/responses/1"), DeliveryStatus.SENT)
    # A deleted post: its unlisted Create and the deliveries go; its public Delete stays.
    dead = f"{BASE}/r/{uuid.uuid4()}"
    create = await activity("Create", about=dead)
    delete = await activity("Delete", about=dead, public=True)
    gone[OutboxActivity].add(create.id)
    gone[Delivery].add((await delivery(create, DeliveryStatus.SENT)).id)
    gone[Delivery].add((await delivery(delete, DeliveryStatus.SENT)).id)
    # A hidden response: its message and then its (not public) Delete go, the Delete last.
    hidden = f"{BASE}/r/{uuid.uuid4()}/responses/2"
    message = await activity("Create", about=hidden)
    retraction = await activity("Delete", about=hidden)
    gone[OutboxActivity] |= {message.id, retraction.id}
    gone[Delivery].add((await delivery(message, DeliveryStatus.SENT)).id)
    gone[Delivery].add((await delivery(retraction, DeliveryStatus.SENT)).id)

    before = {model: await ids(model) for model in gone}
    # Tiny batches: the loops that walk the tables in batches are exercised too.
    removed = await housekeeping.prune(SETTINGS, now=NOW, batch=2)
    removed += await housekeeping.prune(SETTINGS, now=NOW, batch=2)  # the Delete goes last

    for model, rows in gone.items():
        assert await ids(model) == before[model] - rows, model.__name__
    assert removed == sum(len(rows) for rows in gone.values())
    assert await OutboxActivity.filter(id=delete.id).exists()
    assert await housekeeping.prune(SETTINGS, now=NOW) == 0


async def test_a_retention_of_one_day_keeps_yesterdays_rows(database: str) -> None:
    await inbox_item(InboxStatus.PROCESSED, NOW - timedelta(hours=20))
    old = await inbox_item(InboxStatus.PROCESSED, NOW - timedelta(hours=30))
    one_day = Settings(queue_retention_days=1)
    assert await housekeeping.prune(one_day, now=NOW) == 1
    assert not await InboxItem.filter(id=old.id).exists()
    assert await InboxItem.all().count() == 1


def test_the_setting_and_the_job() -> None:
    assert Settings().queue_retention_days == 14
    assert load_settings({"NABUUR_QUEUE_RETENTION_DAYS": "30"}).queue_retention_days == 30
    for bad in ("0", "-1", "two weeks", "1.5", "99999"):
        with pytest.raises(SettingsError, match="NABUUR_QUEUE_RETENTION_DAYS"):
            load_settings({"NABUUR_QUEUE_RETENTION_DAYS": bad})
    jobs = {job.name: job for job in periodic_jobs(Settings())}
    assert jobs["prune-queues"].interval == housekeeping.INTERVAL_SECONDS


async def test_after_pruning_pages_outboxes_and_deletes_still_work(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet")
    follow = remote.activity("bob", "Follow", f"{BASE}/n/jette-centre")
    await node.post_activity(remote, "bob", follow)
    await node.work()
    post = await factories.post(greet, hood, title="Hond uitlaten")
    await node.work()
    reply = remote.activity("alice", "Create", remote.note("alice", f"{BASE}/r/{post.id}", "Ik!"))
    assert (await node.post_activity(remote, "alice", reply)).status_code == 202
    # bob stops following the group; his server still holds the post.
    await node.post_activity(remote, "bob", remote.activity("bob", "Undo", follow))
    await node.work()
    remote.received.clear()
    assert await InboxItem.all().count() == 3

    later = utcnow() + timedelta(days=21)
    assert await housekeeping.prune(node.settings, now=later) > 0
    assert await InboxItem.all().count() == 0 and await Event.all().count() == 0
    # The Accept of bob's follow and its delivery are gone; the post's rows stay.
    kinds = sorted(await OutboxActivity.all().values_list("activity_type", flat=True))
    assert kinds == ["Announce", "Create"]

    # The actors' outboxes still list what they published.
    outbox = (await node.client.get("/@greet/outbox?page=1")).json()
    assert [a["type"] for a in outbox["orderedItems"]] == ["Create"]
    group = (await node.client.get("/n/jette-centre/outbox?page=1")).json()
    assert [a["type"] for a in group["orderedItems"]] == ["Announce"]
    # The post's page, with its reply, and the admins' federation pages.
    async with browser(node.settings.database_url) as web:
        page = await web.get(f"/r/{post.id}")
        assert page.status_code == 200 and "Ik!" in page.text
        await web.log_in_as(await factories.account("els", role=Role.ADMIN, languages=["en"]))
        for path in ("/admin/federation/health", "/admin/federation/network"):
            assert (await web.get(path)).status_code == 200, path

    # The sender sends its reply again with a fresh signature (a lost 202, say): the item
    # is new to the inbox now, and the handler finds the reply it already has.
    assert (await node.post_activity(remote, "alice", reply)).status_code == 202
    await node.work()
    assert await Response.filter(post_id=post.id).count() == 1
    # A captured copy replayed by anyone else carries its old date: refused.
    stale = format_datetime(datetime.now(UTC) - timedelta(hours=2), usegmt=True)
    assert (await node.post_activity(remote, "alice", reply, date=stale)).status_code == 401

    # Withdrawn three weeks on: the Delete still reaches bob's server, which holds the post.
    remote.received.clear()
    await posts.change_status(greet, post, "withdrawn")
    await node.work()
    deletes = [r for r in remote.received if r.json["type"] == "Delete"]
    assert deletes and all(r.json["object"]["id"] == f"{BASE}/r/{post.id}" for r in deletes)
    assert {r.path for r in deletes} == {"/inbox"}  # bob's server, through its shared inbox
    # Once the Delete is old too, the post's rows go, and its public Delete stays.
    much_later = later + timedelta(days=30)
    await housekeeping.prune(node.settings, now=much_later)
    await housekeeping.prune(node.settings, now=much_later)
    left = await OutboxActivity.filter(object_uri=f"{BASE}/r/{post.id}").values_list(
        "activity_type", flat=True
    )
    assert left == ["Delete"]
    assert await Delivery.all().count() == 0
