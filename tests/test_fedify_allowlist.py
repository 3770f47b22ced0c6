"""The allowlist mode against Fedify, over loopback: two Fedify peers on two ports, one a
listed partner and one not.

In allowlist mode the stranger's Follow gets no Accept and its activities are dropped
before any key is fetched (202, nothing stored), while the partner's Follow is accepted
and its reply lands. The mode and the list are changed the way an admin does it, in
other processes (the database row the browser page writes, and `nabuur domains`): the
running node applies them within its 5-second cache.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from federation.context import DOMAIN_TTL
from tests.interop.fedify_peer import FedifyPeer, peer_available
from tests.nodes import NodeProcess, eventually, running_nodes

pytestmark = pytest.mark.slow

GROUP = "/n/jette-centre"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    workdir: Path = tmp_path_factory.mktemp("allowlist-node")
    with running_nodes(workdir, partners={}) as started:
        yield started["partners"]


@pytest.fixture(scope="module")
def stranger(peer: FedifyPeer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedifyPeer]:
    """A second Fedify peer (the module's `peer` is the partner): only its port differs."""
    ok, why = peer_available()
    if not ok:
        pytest.skip(why)
    with FedifyPeer(log_dir=tmp_path_factory.mktemp("fedify-stranger")) as running:
        yield running


def set_mode(node: NodeProcess, mode: str) -> None:
    """What /admin/federation saves: the mode in the node's row."""
    with sqlite3.connect(node.database, timeout=5) as conn:
        conn.execute("UPDATE node_settings SET federation_mode = ?", (mode,))


def domains(node: NodeProcess, *args: str) -> None:
    result = node.cli("domains", *args)
    assert result.returncode == 0, result.stderr


def inbox_items_from(node: NodeProcess, peer: FedifyPeer) -> int:
    [(count,)] = node.query("SELECT count(*) FROM inbox_items WHERE actor_uri = ?", peer.actor_url)
    return int(count)


def responses_from(node: NodeProcess, peer: FedifyPeer) -> list[str]:
    rows = node.query(
        "SELECT r.body FROM responses r JOIN remote_actors a ON a.id = r.remote_author_id"
        " WHERE a.uri = ?",
        peer.actor_url,
    )
    return [body for (body,) in rows]


async def applied() -> None:
    """Wait until every process of the node has read the change (its cache expired)."""
    await asyncio.sleep(DOMAIN_TTL + 1)


async def test_only_a_listed_partner_federates_in_allowlist_mode(
    node: NodeProcess, peer: FedifyPeer, stranger: FedifyPeer
) -> None:
    partner_host = peer.base_url.split("//", 1)[1]
    domains(node, "allow", partner_host, "--reason", "partner network")
    set_mode(node, "allowlist")
    await applied()
    group = node.url(GROUP)

    # The stranger: its Follow is taken (202) and dropped; no Accept ever comes.
    answer = await stranger.follow(group)
    assert answer["delivered"] is True
    with pytest.raises(TimeoutError):
        await stranger.wait_for("Accept", seconds=4)
    assert inbox_items_from(node, stranger) == 0
    post = node.first_public_post()
    await stranger.reply(post, group, "<p>Ik help graag!</p>")
    await asyncio.sleep(2)
    assert responses_from(node, stranger) == []
    assert inbox_items_from(node, stranger) == 0

    # The partner: accepted, verified, and its reply lands.
    await peer.follow(group)
    accept = await peer.wait_for("Accept", where=lambda a: a["actor"] == group, seconds=15)
    assert accept["signature"]["verifiedBy"] == "http-signature"
    await peer.reply(post, group, "<p>Wij helpen zaterdag.</p>")
    assert await eventually(lambda: responses_from(node, peer))

    # Taken off the list (by the CLI, another process): refused within seconds.
    domains(node, "disallow", partner_host, "--reason", "partnership ended")
    await applied()
    before = inbox_items_from(node, peer)
    await peer.reply(post, group, "<p>Nog een antwoord.</p>")
    await asyncio.sleep(2)
    assert inbox_items_from(node, peer) == before
    assert len(responses_from(node, peer)) == 1

    # Open again: the stranger is welcome now.
    set_mode(node, "open")
    await applied()
    await stranger.follow(group)
    await stranger.wait_for("Accept", where=lambda a: a["actor"] == group, seconds=15)
