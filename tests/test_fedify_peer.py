"""Smoke test of the Fedify interoperability peer (no Nabuur node involved).

The peer needs ``npm ci`` in tests/interop/fedify: without it these tests are skipped on a
laptop and fail under CI=true.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from tests.interop.fedify_peer import (
    AP_ACCEPT,
    FedifyPeer,
    FedifyPeerError,
)

pytestmark = pytest.mark.slow

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def get_json(url: str) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, headers={"Accept": AP_ACCEPT}) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json(content_type=None)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def refusing_actor() -> AsyncIterator[str]:
    """A minimal actor on loopback whose inbox answers 401 to every delivery."""

    async def actor(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        document = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{base}/users/bob",
            "type": "Person",
            "preferredUsername": "bob",
            "inbox": f"{base}/users/bob/inbox",
        }
        return web.json_response(document, content_type="application/activity+json")

    async def inbox(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=401, text="signature rejected")

    app = web.Application()
    app.router.add_get("/users/bob", actor)
    app.router.add_post("/users/bob/inbox", inbox)
    runner = web.AppRunner(app)
    await runner.setup()
    port = closed_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}/users/bob"
    finally:
        await runner.cleanup()


async def test_actor_document(peer: FedifyPeer) -> None:
    actor = await get_json(peer.actor_url)
    assert actor["id"] == peer.actor_url
    assert actor["type"] == "Person"
    assert actor["preferredUsername"] == "alice"
    assert actor["inbox"] == peer.inbox_url
    assert actor["endpoints"]["sharedInbox"] == peer.shared_inbox_url
    key = actor["publicKey"]
    assert key["owner"] == peer.actor_url
    public_key = load_pem_public_key(key["publicKeyPem"].encode())
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.key_size == 2048
    methods = actor["assertionMethod"]
    assert len(methods) == 2
    # Multibase "z6Mk..." is an Ed25519 public key (the object integrity proof key).
    assert any(m["publicKeyMultibase"].startswith("z6Mk") for m in methods)


async def test_self_follow_is_verified_and_accepted(peer: FedifyPeer) -> None:
    await peer.reset()
    answer = await peer.follow(peer.actor_url)
    assert answer["delivered"] is True
    assert answer["acceptedSpec"] == "rfc9421"
    posts = [r for r in answer["requests"] if r["method"] == "POST"]
    assert [(r["profile"], r["status"]) for r in posts] == [("rfc9421", 202)]

    follow = await peer.wait_for("Follow", where=lambda a: a["id"] == answer["id"])
    assert follow["actor"] == peer.actor_url
    assert follow["signature"]["profile"] == "rfc9421"
    assert follow["signature"]["verifiedBy"] is not None
    assert follow["raw"]["id"] == answer["id"]
    accept = await peer.wait_for("Accept", where=lambda a: a["object"] == answer["id"])
    assert accept["actor"] == peer.actor_url


async def test_reply_to_unreachable_actor_fails_cleanly(peer: FedifyPeer) -> None:
    target = f"http://127.0.0.1:{closed_port()}/users/nobody"
    in_reply_to = f"{target}/statuses/1"
    with pytest.raises(FedifyPeerError) as caught:
        await peer.reply(in_reply_to, target, "<p>hello</p>")
    failure = caught.value
    assert failure.status == 500
    assert target in failure.payload["error"]
    assert failure.payload["requests"], "the lookup attempts are reported"

    # The Note was created before the lookup failed, and the peer serves it.
    note = await get_json(failure.payload["noteId"])
    assert note["id"] == failure.payload["noteId"]
    assert note["type"] == "Note"
    assert note["attributedTo"] == peer.actor_url
    assert note["inReplyTo"] == in_reply_to
    assert note["content"] == "<p>hello</p>"
    assert note["to"] == target
    # Fedify serves objects compacted against the AS context, so Public may be "as:Public"
    # there (outgoing activities are normalised to the full IRI).
    assert note["cc"] in (PUBLIC, "as:Public")

    assert (await peer.health())["ok"] is True
    assert peer.running


async def test_rejected_delivery_is_double_knocked_and_reported(
    peer: FedifyPeer, refusing_actor: str
) -> None:
    await peer.reset()
    with pytest.raises(FedifyPeerError) as caught:
        await peer.reply(f"{refusing_actor}/statuses/1", refusing_actor, "<p>hi</p>")
    payload = caught.value.payload
    assert payload["delivered"] is False
    assert payload["status"] == 401
    assert payload["id"] and payload["noteId"]
    posts = [(r["profile"], r["status"]) for r in payload["requests"] if r["method"] == "POST"]
    # Fedify's double knock: RFC 9421 first, then draft-cavage when that is refused.
    assert posts == [("rfc9421", 401), ("draft-cavage", 401)]

    assert (await peer.health())["ok"] is True
    assert await peer.inbox() == []


async def get_status(url: str) -> tuple[int, dict[str, Any]]:
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, headers={"Accept": AP_ACCEPT}) as response,
    ):
        return response.status, await response.json(content_type=None)


async def test_update_and_delete_to_unreachable_actor_fail_cleanly(peer: FedifyPeer) -> None:
    target = f"http://127.0.0.1:{closed_port()}/users/nobody"
    with pytest.raises(FedifyPeerError) as caught:
        await peer.reply(f"{target}/statuses/1", target, "<p>first</p>")
    note_id = caught.value.payload["noteId"]

    with pytest.raises(FedifyPeerError) as caught:
        await peer.update(note_id, target, "<p>edited</p>")
    payload = caught.value.payload
    assert caught.value.status == 500
    assert target in payload["error"]
    assert payload["noteId"] == note_id
    assert "/activities/update/" in payload["id"]
    assert payload["requests"], "the lookup attempts are reported"
    note = await get_json(note_id)
    assert note["content"] == "<p>edited</p>"
    assert note["updated"]

    with pytest.raises(FedifyPeerError) as caught:
        await peer.delete(note_id, target)
    payload = caught.value.payload
    assert caught.value.status == 500
    assert target in payload["error"]
    assert payload["noteId"] == note_id
    assert "/activities/delete/" in payload["id"]
    status, tombstone = await get_status(note_id)
    assert status == 410
    assert tombstone["id"] == note_id
    assert tombstone["type"] == "Tombstone"
    # formerType is an IRI property: Fedify writes the compact IRI "as:Note".
    assert tombstone["formerType"] in (
        "Note",
        "as:Note",
        "https://www.w3.org/ns/activitystreams#Note",
    )

    # A deleted note cannot be updated any more.
    with pytest.raises(FedifyPeerError, match="was deleted"):
        await peer.update(note_id, target, "<p>again</p>")
    assert (await peer.health())["ok"] is True
    assert peer.running


async def test_delete_of_unknown_note_is_an_error(peer: FedifyPeer) -> None:
    target = f"http://127.0.0.1:{closed_port()}/users/nobody"
    unknown = f"{peer.base_url}/notes/00000000-0000-0000-0000-000000000000"
    for call in (peer.delete(unknown, target), peer.update(unknown, target, "<p>x</p>")):
        with pytest.raises(FedifyPeerError, match="unknown note") as caught:
            await call
        assert caught.value.status == 500
        assert caught.value.payload["requests"] == [], "nothing is looked up or sent"
    with pytest.raises(FedifyPeerError, match="unknown note"):
        await peer.delete(f"{target}/statuses/1", target)
    assert (await peer.health())["ok"] is True


async def test_send_to_unreachable_actor_fails_cleanly(peer: FedifyPeer) -> None:
    target = f"http://127.0.0.1:{closed_port()}/users/nobody"
    like = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{target}/likes/1",
        "type": "Like",
        "actor": f"{target}/../mallory",
        "object": f"{target}/statuses/1",
    }
    with pytest.raises(FedifyPeerError) as caught:
        await peer.send(target, like)
    payload = caught.value.payload
    assert caught.value.status == 500
    assert target in payload["error"]
    assert payload["id"] == like["id"]
    assert payload["activity"]["type"] == "Like"
    assert payload["requests"]

    with pytest.raises(FedifyPeerError, match="not an activity"):
        await peer.send(target, {"type": "Note", "content": "not an activity"})
    with pytest.raises(FedifyPeerError, match='"activity" must be'):
        await peer.send(target, [])  # type: ignore[arg-type]
    assert (await peer.health())["ok"] is True
    assert peer.running


async def test_send_signs_activities_of_other_actors(peer: FedifyPeer, refusing_actor: str) -> None:
    await peer.reset()
    mallory = f"http://127.0.0.1:{closed_port()}/users/mallory"
    activity = {"type": "Like", "actor": mallory, "object": f"{refusing_actor}/statuses/1"}
    with pytest.raises(FedifyPeerError) as caught:
        await peer.send(refusing_actor, activity)
    payload = caught.value.payload
    # Fedify sent it (signed by alice, actor mallory) and the inbox refused it.
    assert payload["status"] == 401
    assert payload["activity"]["actor"] == mallory
    assert payload["id"].startswith(f"{peer.base_url}/activities/send/")
    posts = [r["profile"] for r in payload["requests"] if r["method"] == "POST"]
    assert posts == ["rfc9421", "draft-cavage"]

    # Without an actor Fedify refuses to send at all.
    with pytest.raises(FedifyPeerError, match="Fedify refused to send"):
        await peer.send(refusing_actor, {"type": "Like", "object": f"{refusing_actor}/x"})

    # alice's own activity to herself is delivered and verified.
    like = {"type": "Like", "actor": peer.actor_url, "object": f"{refusing_actor}/statuses/2"}
    answer = await peer.send(peer.actor_url, like)
    assert answer["delivered"] is True
    received = await peer.wait_for("Like", where=lambda a: a["id"] == answer["id"])
    assert received["actor"] == peer.actor_url


async def test_update_and_delete_to_self_are_verified(peer: FedifyPeer) -> None:
    await peer.reset()
    created = await peer.reply(f"{peer.actor_url}/statuses/1", peer.actor_url, "<p>one</p>")
    note_id = created["noteId"]
    updated = await peer.update(note_id, peer.actor_url, "<p>two</p>")
    assert updated["delivered"] is True
    deleted = await peer.delete(note_id, peer.actor_url)
    assert deleted["delivered"] is True

    update = await peer.wait_for("Update", where=lambda a: a["id"] == updated["id"])
    assert update["raw"]["object"]["id"] == note_id
    assert update["raw"]["object"]["content"] == "<p>two</p>"
    assert update["raw"]["cc"] == PUBLIC
    delete = await peer.wait_for("Delete", where=lambda a: a["id"] == deleted["id"])
    assert delete["actor"] == peer.actor_url
    assert delete["raw"]["object"]["id"] == note_id
    assert delete["raw"]["object"]["type"] == "Tombstone"
    assert delete["raw"]["to"] == peer.actor_url
    assert delete["raw"]["cc"] == PUBLIC
    assert (await get_status(note_id))[0] == 410
