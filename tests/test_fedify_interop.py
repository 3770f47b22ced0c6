"""Interoperability with Fedify, an independent ActivityPub implementation, over loopback.

Fedify verifies every activity it receives (the peer records only verified ones), and
its own requests must pass our verification: both signature profiles, both directions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.fedify_peer import FedifyPeer, FedifyPeerError
from tests.nodes import (
    NodeProcess,
    eventually,
    get_json,
    run_script,
    running_nodes,
    write_post,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProcess]]:
    """A node that signs draft-cavage first, and one that signs RFC 9421 first."""
    workdir: Path = tmp_path_factory.mktemp("interop-nodes")
    with running_nodes(
        workdir, cavage={}, rfc9421={"NABUUR_SIGNATURE_PROFILE": "rfc9421"}
    ) as started:
        yield started


def responses_to(node: NodeProcess, post_url: str) -> list[tuple[str, str]]:
    post_id = post_url.rsplit("/", 1)[1]
    return node.query(
        "SELECT r.object_uri, r.body FROM responses r JOIN remote_actors a"
        " ON a.id = r.remote_author_id WHERE r.post_id = ?",
        post_id,
    )


@pytest.mark.parametrize("profile", ["cavage", "rfc9421"])
async def test_fedify_follows_and_verifies_our_accept(
    peer: FedifyPeer, nodes: dict[str, NodeProcess], profile: str
) -> None:
    node = nodes[profile]
    group = node.url("/n/jette-centre")
    answer = await peer.follow(group)
    assert answer["delivered"] is True
    # Fedify knocks with RFC 9421 first; we verified it: no draft-cavage retry was needed.
    assert [r["profile"] for r in answer["requests"] if r.get("method") == "POST"] == ["rfc9421"]

    accept = await peer.wait_for("Accept", where=lambda a: a["actor"] == group)
    assert accept["signature"]["verifiedBy"] == "http-signature"
    expected = "draft-cavage" if profile == "cavage" else "rfc9421"
    assert accept["signature"]["profile"] == expected
    assert peer.actor_url in await eventually(lambda: _followers(node, "/n/jette-centre"))
    counted = await get_json(node.url("/n/jette-centre/followers"))
    assert counted["totalItems"] >= 1 and "orderedItems" not in counted


async def _followers(node: NodeProcess, path: str) -> set[str]:
    """The remote followers of a neighbourhood, read on the node: its followers
    collection gives their number only (FEDERATION.md, "Actors")."""
    rows = node.query(
        "SELECT a.uri FROM follows f JOIN remote_actors a ON a.id = f.follower_remote_id"
        " JOIN neighbourhoods n ON n.id = f.neighbourhood_id"
        " WHERE n.slug = ? AND f.status = 'accepted'",
        path.removeprefix("/n/"),
    )
    return {uri for (uri,) in rows}


async def test_reply_update_delete_and_like(
    peer: FedifyPeer, nodes: dict[str, NodeProcess]
) -> None:
    node = nodes["cavage"]
    post = node.first_public_post()
    group = node.url("/n/jette-centre")
    sent = await peer.reply(post, group, "<p>Ik kan zaterdag helpen! <script>x()</script></p>")
    assert sent["delivered"] is True
    note_id = sent["noteId"]
    [(uri, body)] = await eventually(lambda: responses_to(node, post))
    assert uri == note_id
    assert body.startswith("Ik kan zaterdag helpen!") and "script" not in body

    await peer.update(note_id, group, "<p>Ik kan zaterdag én zondag helpen.</p>")
    await eventually(
        lambda: responses_to(node, post) == [(note_id, "Ik kan zaterdag én zondag helpen.")]
    )

    await peer.like(post, group)
    await eventually(
        lambda: node.query("SELECT count(*) FROM reactions WHERE kind = 'like'") == [(1,)]
    )

    await peer.delete(note_id, group)
    await eventually(lambda: responses_to(node, post) == [])


async def test_our_node_follows_fedify(peer: FedifyPeer, nodes: dict[str, NodeProcess]) -> None:
    node = nodes["rfc9421"]
    result = node.cli("follow", peer.actor_url)
    assert result.returncode == 0, result.stderr
    follow = await peer.wait_for("Follow", where=lambda a: a["actor"] == node.url("/actor"))
    assert follow["signature"]["verifiedBy"] == "http-signature"
    # Fedify answers with an Accept signed its own way, which we verify and apply.
    await eventually(lambda: node.query("SELECT status FROM outgoing_follows") == [("accepted",)])


async def test_unfollow_reaches_us(peer: FedifyPeer, nodes: dict[str, NodeProcess]) -> None:
    node = nodes["cavage"]
    await peer.unfollow(node.url("/n/jette-centre"))
    await eventually(lambda: _lacks(_followers(node, "/n/jette-centre"), peer.actor_url))


async def _lacks(pending, member: str) -> bool:
    return member not in await pending


async def test_activity_whose_actor_is_not_the_signer_is_refused(
    peer: FedifyPeer, nodes: dict[str, NodeProcess]
) -> None:
    node = nodes["cavage"]
    group = node.url("/n/jette-centre")
    forged = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Follow",
        "actor": node.url("/@greet"),  # one of our own actors, signed by alice's key
        "object": group,
    }
    with pytest.raises(FedifyPeerError) as refused:
        await peer.send(group, forged)
    statuses = {r.get("status") for r in refused.value.payload.get("requests", [])}
    assert statuses and statuses <= {400, 401}


async def test_fedify_reads_a_new_request_as_a_note(
    peer: FedifyPeer, nodes: dict[str, NodeProcess]
) -> None:
    """Fedify follows a resident; her new request reaches it as a verified Create(Note)."""
    node = nodes["cavage"]
    author = node.url("/@marleen")
    assert (await peer.follow(author))["delivered"] is True
    await peer.wait_for("Accept", where=lambda a: a["actor"] == author)
    title = "Wie helpt de haag snoeien? (interop)"
    post_id = write_post(node, title)
    create = await peer.wait_for("Create", where=lambda a: a["actor"] == author, seconds=20)
    assert create["signature"]["verifiedBy"] == "http-signature"
    note = create["activity"]["object"]
    assert note["id"] == node.url(f"/r/{post_id}")
    content = note.get("content") or next(iter(note.get("contentMap", {}).values()))
    assert title in content and "Antwoord op dit bericht" in content


RENAME_SCRIPT = """
import asyncio, sys
from node import db
from node.models import Account, Role
from node.services import neighbourhoods
from node.services.neighbourhoods import NeighbourhoodForm

async def main(url, slug, name):
    await db.open_database(url)
    try:
        admin = await Account.get(username="admin")
        hood = await neighbourhoods.get_neighbourhood(slug)
        form = NeighbourhoodForm(name=name, commune=hood.commune, country=hood.country,
                                 description={"fr": "Autour de la gare"},
                                 centre=f"{hood.centre_lat}, {hood.centre_lon}",
                                 radius_m=str(hood.radius_m))
        await neighbourhoods.update_from_form(hood, form, admin)
    finally:
        await db.close_database()

asyncio.run(main(*sys.argv[1:4]))
"""


async def test_fedify_takes_the_update_of_an_edited_neighbourhood(
    peer: FedifyPeer, nodes: dict[str, NodeProcess]
) -> None:
    """An admin renames a neighbourhood: its follower gets a verified Update of the Group,
    sent by the Group about itself (the shape Mastodon's Update handler requires)."""
    node = nodes["rfc9421"]
    group = node.url("/n/dieleghem")
    assert (await peer.follow(group))["delivered"] is True
    await peer.wait_for("Accept", where=lambda a: a["actor"] == group)
    run_script(node, RENAME_SCRIPT, "dieleghem", "Dieleghem (Jette)")
    update = await peer.wait_for("Update", where=lambda a: a["actor"] == group, seconds=20)
    assert update["signature"]["verifiedBy"] == "http-signature"
    actor = update["activity"]["object"]
    assert actor["id"] == group and actor["type"] == "Group"
    assert actor["name"] == "Dieleghem (Jette)"
