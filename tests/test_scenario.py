"""The whole story across servers: three Nabuur nodes and a Fedify peer on loopback.

A request posted on node A reaches node B (as a structured request under "nearby") and
Fedify (as a Note that reads well); Fedify replies and A records the offer and tells
the author; accepting the helper sends Fedify a direct message; marking it done reaches
B and Fedify as Update; withdrawing reaches them as Delete.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop.fedify_peer import FedifyPeer
from tests.nodes import NodeProcess, accept_first_offer, eventually, running_nodes, write_post

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProcess]]:
    workdir = tmp_path_factory.mktemp("scenario")
    with running_nodes(workdir, a={}, b={}, c={}) as started:
        yield started


async def test_a_request_travels_and_comes_back(
    peer: FedifyPeer, nodes: dict[str, NodeProcess]
) -> None:
    a, b, c = nodes["a"], nodes["b"], nodes["c"]
    group, author = a.url("/n/jette-centre"), a.url("/@marleen")
    for follower in (b, c):
        assert follower.cli("follow", group).returncode == 0
    assert (await peer.follow(author))["delivered"] is True

    def accepted_follows() -> bool:
        return (
            a.query(
                "SELECT count(*) FROM follows WHERE status = 'accepted' AND follower_remote_id"
                " IS NOT NULL AND activity_uri IS NOT NULL"
            )[0][0]
            >= 3
        )

    await eventually(accepted_follows, seconds=20)

    title = "Vijf buren gezocht voor de opruimdag (scenario)"
    post_id = write_post(a, title)
    note_url = a.url(f"/r/{post_id}")

    def on(node: NodeProcess) -> list:
        return node.query(
            "SELECT slots_left, finished FROM remote_posts WHERE object_uri = ?", note_url
        )

    for node in (b, c):
        await eventually(lambda n=node: on(n), seconds=20)
    create = await peer.wait_for("Create", where=lambda x: x["object"] == note_url, seconds=20)
    assert title in create["activity"]["object"]["content"]

    reply = await peer.reply(note_url, author, "<p>Ik kom helpen!</p>")
    assert reply["delivered"] is True

    def offers() -> list:
        return a.query(
            "SELECT kind, offer_status FROM responses WHERE object_uri = ?", reply["noteId"]
        )

    assert await eventually(offers, seconds=20) == [("offer", "offered")]
    notified = a.query(
        "SELECT count(*) FROM notifications n JOIN accounts u ON u.id = n.recipient_id"
        " WHERE u.username = 'marleen' AND n.kind = 'response'"
    )
    assert notified[0][0] >= 1

    accept_first_offer(a, post_id)
    dm = await peer.wait_for(
        "Create",
        where=lambda x: x["activity"]["object"].get("inReplyTo") == reply["noteId"],
        seconds=20,
    )
    assert "Bedankt! Je aanbod om te helpen" in dm["activity"]["object"]["content"]

    write_post(a, title, status="done")
    for node in (b, c):
        await eventually(lambda n=node: [row[1] for row in on(n)] == [1], seconds=20)
    await peer.wait_for("Update", where=lambda x: x["object"] == note_url, seconds=20)

    write_post(a, title, status="open")
    write_post(a, title, status="withdrawn")
    for node in (b, c):
        await eventually(lambda n=node: on(n) == [], seconds=20)
    await peer.wait_for("Delete", where=lambda x: x["object"] == note_url, seconds=20)
