"""The inbox refuses what breaks a rule with a clear status, and stores nothing then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import orjson
import pytest

from node.models import DomainPolicy, InboxItem, InboxStatus
from node.services import domain_policy
from tests.fakeremote import FakeRemote, remote_key
from tests.federation_fixtures import BASE, Node


def follow_of_us(remote: FakeRemote, name: str = "alice", **extra: object) -> dict:
    return remote.activity(name, "Follow", f"{BASE}/actor", **extra)


async def assert_nothing_stored() -> None:
    assert await InboxItem.all().count() == 0


async def test_signed_follow_is_stored_then_processed(node: Node, remote: FakeRemote) -> None:
    response = await node.post_activity(remote, "alice", follow_of_us(remote))
    assert response.status_code == 202
    item = await InboxItem.get()
    assert item.status == InboxStatus.PENDING
    await node.work()
    await item.refresh_from_db()
    assert item.status == InboxStatus.PROCESSED


@pytest.mark.parametrize("profile", ["cavage", "rfc9421"])
async def test_both_signature_profiles_accepted(
    node: Node, remote: FakeRemote, profile: str
) -> None:
    response = await node.post_activity(remote, "alice", follow_of_us(remote), profile=profile)
    assert response.status_code == 202
    assert await InboxItem.all().count() == 1


async def test_unsigned_is_401(node: Node, remote: FakeRemote) -> None:
    body = orjson.dumps(follow_of_us(remote))
    response = await node.client.post(
        "/inbox", content=body, headers={"content-type": "application/activity+json"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "no signature"
    await assert_nothing_stored()


async def test_wrong_key_is_401(node: Node, remote: FakeRemote) -> None:
    response = await node.post_activity(remote, "alice", follow_of_us(remote), key=remote_key(5))
    assert response.status_code == 401
    await assert_nothing_stored()


async def test_tampered_body_fails_digest(node: Node, remote: FakeRemote) -> None:
    activity = follow_of_us(remote)
    body = orjson.dumps(activity)
    headers = remote.signed_headers("alice", BASE + "/inbox", body)
    tampered = body.replace(b"Follow", b"Block")
    response = await node.client.post("/inbox", content=tampered, headers=headers)
    assert response.status_code == 401
    assert "digest" in response.json()["error"].lower()
    await assert_nothing_stored()


async def test_stale_date_is_401(node: Node, remote: FakeRemote) -> None:
    old = format_datetime(datetime.now(UTC) - timedelta(hours=2), usegmt=True)
    response = await node.post_activity(remote, "alice", follow_of_us(remote), date=old)
    assert response.status_code == 401
    assert "date" in response.json()["error"].lower()
    await assert_nothing_stored()


async def test_signer_must_be_the_actor(node: Node, remote: FakeRemote) -> None:
    activity = follow_of_us(remote, "bob")  # says bob, signed by alice
    response = await node.post_activity(remote, "alice", activity)
    assert response.status_code == 401
    assert response.json()["error"] == "signer and actor do not match"
    await assert_nothing_stored()


async def test_activity_id_on_another_host_is_400(node: Node, remote: FakeRemote) -> None:
    activity = follow_of_us(remote, id="https://elsewhere.example/activities/1")
    response = await node.post_activity(remote, "alice", activity)
    assert response.status_code == 400
    await assert_nothing_stored()


async def test_claiming_a_local_id_is_400(node: Node, remote: FakeRemote) -> None:
    activity = follow_of_us(remote, id=f"{BASE}/activities/00000000-0000-0000-0000-000000000000")
    response = await node.post_activity(remote, "alice", activity)
    assert response.status_code == 400
    await assert_nothing_stored()


async def test_blocked_domain_is_dropped_without_fetching(node: Node, remote: FakeRemote) -> None:
    await domain_policy.set_domain_policy(remote.base.split("//")[1], DomainPolicy.SUSPEND)
    response = await node.post_activity(remote, "alice", follow_of_us(remote))
    assert response.status_code == 202
    await assert_nothing_stored()
    assert remote.fetches == []  # the key was not even looked up


async def test_replayed_activity_is_stored_once(node: Node, remote: FakeRemote) -> None:
    activity = follow_of_us(remote)
    for _ in range(3):
        assert (await node.post_activity(remote, "alice", activity)).status_code == 202
    assert await InboxItem.all().count() == 1


async def test_oversize_body_is_413(node: Node, remote: FakeRemote) -> None:
    activity = follow_of_us(remote, content="x" * (1024 * 1024 + 10))
    response = await node.post_activity(remote, "alice", activity)
    assert response.status_code == 413
    await assert_nothing_stored()


async def test_wrong_content_type_is_415(node: Node, remote: FakeRemote) -> None:
    body = orjson.dumps(follow_of_us(remote))
    headers = remote.signed_headers(
        "alice", BASE + "/inbox", body, **{"content-type": "text/plain"}
    )
    response = await node.client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 415
    await assert_nothing_stored()


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"type": "Follow"}', b'{"id": "x", "type": "Follow", "actor": 3}'],
)
async def test_malformed_json_is_400(node: Node, remote: FakeRemote, body: bytes) -> None:
    headers = remote.signed_headers("alice", BASE + "/inbox", body)
    response = await node.client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 400
    await assert_nothing_stored()


async def test_unknown_key_is_401_and_not_fetched_again(node: Node, remote: FakeRemote) -> None:
    remote.add_actor("carol", 2)
    activity = remote.activity("carol", "Follow", f"{BASE}/actor")
    body = orjson.dumps(activity)
    headers = remote.signed_headers("carol", BASE + "/inbox", body)
    del remote.keys["carol"]  # the actor is gone: its document answers 404
    for _ in range(3):
        response = await node.client.post("/inbox", content=body, headers=headers)
        assert response.status_code == 401
    assert remote.fetches.count("carol") == 1  # the failure is remembered for a while
    await assert_nothing_stored()


async def test_key_on_our_own_host_is_never_fetched(node: Node, remote: FakeRemote) -> None:
    activity = remote.activity("alice", "Follow", f"{BASE}/actor")
    body = orjson.dumps(activity)
    headers = remote.signed_headers("alice", BASE + "/inbox", body)
    headers["signature"] = headers["signature"].replace(
        remote.key_id("alice"), f"{BASE}/actor#main-key"
    )
    response = await node.client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 401
    assert remote.fetches == []


async def test_rotated_key_is_refetched_once(node: Node, remote: FakeRemote) -> None:
    assert (await node.post_activity(remote, "alice", follow_of_us(remote))).status_code == 202
    remote.keys["alice"] = remote_key(3)  # alice rotates her key
    response = await node.post_activity(remote, "alice", follow_of_us(remote))
    assert response.status_code == 202, response.text
    assert remote.fetches.count("alice") == 2


async def test_unknown_activity_type_is_stored_and_ignored(node: Node, remote: FakeRemote) -> None:
    activity = remote.activity("alice", "Dance", {"id": remote.new_id("notes"), "type": "Note"})
    assert (await node.post_activity(remote, "alice", activity)).status_code == 202
    await node.work()
    item = await InboxItem.get()
    assert item.status == InboxStatus.IGNORED
    assert "Dance" in item.outcome
