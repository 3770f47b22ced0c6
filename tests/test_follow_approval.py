"""Followers who need approval: organisations by default, residents who ask for it.

Followers see followers-only posts (pages here; signed fetches and deliveries elsewhere),
so a follow that nobody approved must open nothing: these tests follow each path a
follow takes, from here and from another server, and what each decision opens or closes.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.errors import NotFound, PermissionDenied
from node.models import Account, Follow, Notification, NotificationKind, RemoteActor
from node.services import follow_requests, follows, posts
from node.states import FollowStatus
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node
from tests.webclient import browser


async def _fetch(node: Node, post, headers: dict[str, str] | None = None):
    return await node.client.get(
        f"/r/{post.id}", headers={"accept": "application/activity+json", **(headers or {})}
    )


async def _approving(made) -> Account:
    account = await made
    account.manually_approves_followers = True
    await account.save(update_fields=["manually_approves_followers"])
    return account


async def _sees(viewer, post) -> bool:
    try:
        await posts.get_post(str(post.id), viewer)
    except NotFound:
        return False
    return True


async def test_a_server_asking_to_follow_an_organisation_waits_for_a_coordinator(
    node: Node, remote: FakeRemote
) -> None:
    hood = await factories.neighbourhood("jette-centre")
    staff = await factories.account("els")
    org = await factories.organisation("buurthuis", staff=[staff])
    coordinator = await factories.coordinator_of(org, "coord")
    post = await factories.post(staff, hood, visibility="followers", organisation=org.slug)
    url = f"{BASE}/r/{post.id}"
    follow = remote.activity("alice", "Follow", f"{BASE}/o/buurthuis")
    await node.post_activity(remote, "alice", follow)
    await node.work()

    row = await Follow.get(organisation=org)
    assert row.status == FollowStatus.PENDING
    assert remote.received == []  # no Accept: nobody decided
    # The coordinators are asked, not the other staff.
    asked = await Notification.filter(kind=NotificationKind.ASKS_TO_FOLLOW)
    assert [(n.recipient_id, n.organisation_id) for n in asked] == [(coordinator.id, org.id)]
    assert asked[0].note == (await RemoteActor.get(uri=remote.actor_url("alice"))).handle
    # A pending follower's server may not fetch the followers-only Note.
    assert (await _fetch(node, post, remote.signed_get_headers("alice", url))).status_code == 404
    actor = await node.client.get("/o/buurthuis", headers={"accept": "application/activity+json"})
    assert actor.json()["manuallyApprovesFollowers"] is True

    with pytest.raises(PermissionDenied):  # staff see the list; coordinators decide
        await follow_requests.decide(staff, org, row.id, True)
    await follow_requests.decide(coordinator, org, row.id, True)
    await node.work()
    [accept] = remote.received
    assert accept.json["type"] == "Accept" and accept.json["object"]["id"] == follow["id"]
    shown = await _fetch(node, post, remote.signed_get_headers("alice", url))
    assert shown.status_code == 200 and shown.json()["to"] == [f"{BASE}/o/buurthuis/followers"]

    # Removing the follower answers Reject (Mastodon's "remove follower") and closes it.
    remote.received.clear()
    await follow_requests.remove_follower(coordinator, org, row.id)
    await node.work()
    [reject] = remote.received
    assert reject.json["type"] == "Reject" and reject.json["object"]["id"] == follow["id"]
    assert (await _fetch(node, post, remote.signed_get_headers("alice", url))).status_code == 404


async def test_a_refused_server_may_ask_again(node: Node, remote: FakeRemote) -> None:
    org = await factories.organisation("buurthuis")
    coordinator = await factories.coordinator_of(org, "coord")
    await node.post_activity(
        remote, "alice", remote.activity("alice", "Follow", f"{BASE}/o/buurthuis")
    )
    await node.work()
    row = await Follow.get(organisation=org)
    await follow_requests.decide(coordinator, org, row.id, False)
    await node.work()
    assert [d.json["type"] for d in remote.received] == ["Reject"]
    again = remote.activity("alice", "Follow", f"{BASE}/o/buurthuis")
    await node.post_activity(remote, "alice", again)
    await node.work()
    assert (await Follow.get(organisation=org)).status == FollowStatus.PENDING


async def test_residents_choose_to_approve_their_followers(database: str) -> None:
    hood = await factories.neighbourhood("kuregem")
    amina = await factories.account("amina")
    post = await factories.post(amina, hood, visibility="followers")
    first, second = await factories.account("first"), await factories.account("second")
    await follows.follow(first, amina)  # not approving: accepted at once
    assert await _sees(first, post)

    await follow_requests.set_approval(amina, amina, True)
    row = await follows.follow(second, amina)
    assert row.status == FollowStatus.PENDING and not await _sees(second, post)
    assert await follows.follow_status(second, amina) == FollowStatus.PENDING
    assert await Notification.filter(
        recipient=amina, kind=NotificationKind.ASKS_TO_FOLLOW, actor=second
    ).exists()
    with pytest.raises(PermissionDenied):  # only amina decides for amina
        await follow_requests.decide(first, amina, row.id, True)

    # Turning approval off accepts everyone still waiting.
    assert await follow_requests.set_approval(amina, amina, False) == 1
    assert await _sees(second, post)


async def test_a_refused_or_removed_resident_sees_nothing(database: str) -> None:
    hood = await factories.neighbourhood("kuregem")
    org = await factories.organisation("buurthuis")
    coordinator = await factories.coordinator_of(org, "coord")
    post = await factories.post(coordinator, hood, visibility="followers", organisation=org.slug)
    sam = await factories.account("sam")
    row = await follows.follow(sam, org)
    await follow_requests.decide(coordinator, org, row.id, False)
    assert await follows.follow_status(sam, org) is None and not await _sees(sam, post)
    row = await follows.follow(sam, org)  # asks again
    await follow_requests.decide(coordinator, org, row.id, True)
    assert await _sees(sam, post)
    await follow_requests.remove_follower(coordinator, org, row.id)
    assert not await _sees(sam, post)


async def test_the_pages_that_ask_and_decide(database: str) -> None:
    await factories.node_row()
    org = await factories.organisation("buurthuis")
    coordinator = await factories.coordinator_of(org, "coord")
    sam = await factories.account("sam", languages=["en"])
    amina = await _approving(factories.account("amina", languages=["en"]))
    async with browser(database) as web:
        await web.log_in_as(sam)
        page = await web.get("/o/buurthuis")
        assert "Ask to follow" in page.text and "approves each follower" in page.text
        asked = await web.submit("/o/buurthuis/follow", {"follow": "yes"}, page="/o/buurthuis")
        assert asked.status_code == 303
        assert "waits for approval" in (await web.get("/o/buurthuis")).text
        await web.submit("/@amina/follow", {"follow": "yes"}, page="/@amina")
    async with browser(database) as web:
        await web.log_in_as(coordinator)
        board = await web.get("/admin/o/buurthuis/followers")
        row = await Follow.get(organisation=org)
        assert board.status_code == 200 and f'value="{row.id}"' in board.text
        done = await web.submit(
            "/admin/o/buurthuis/followers",
            {"action": "approve", "follow_id": str(row.id)},
            page="/admin/o/buurthuis/followers",
        )
        assert done.status_code == 303
    assert (await Follow.get(id=row.id)).status == FollowStatus.ACCEPTED
    async with browser(database) as web:
        await web.log_in_as(amina)
        mine = await web.get("/settings/followers")
        row = await Follow.get(account=amina)
        assert "Sam" in mine.text and f'value="{row.id}"' in mine.text
        await web.submit(
            "/settings/followers",
            {"action": "refuse", "follow_id": str(row.id)},
            page="/settings/followers",
        )
    assert not await Follow.exists(account=amina)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(action=st.text(max_size=20), follow_id=st.text(max_size=30))
async def test_bad_decisions_change_nothing(database: str, action: str, follow_id: str) -> None:
    amina = await _approving(factories.account())
    asker = await factories.account()
    row = await follows.follow(asker, amina)
    async with browser(database) as web:
        await web.log_in_as(amina)
        answer = await web.submit(
            "/settings/followers",
            {"action": action, "follow_id": follow_id},
            page="/settings/followers",
        )
    assert answer.status_code < 500
    good = action in ("approve", "refuse", "remove", "approval") and follow_id == str(row.id)
    if not good and action != "approval":
        assert (await Follow.get(id=row.id)).status == FollowStatus.PENDING
        assert (await Account.get(id=amina.id)).manually_approves_followers
