"""Status changes and forwarded reports, as an independent implementation receives them.

The Fedify peer follows only a neighbourhood (as a Mastodon user who follows the group
and nobody in it): when the request is matched it must still get a verified `Update`
from the Note's author, and a `Delete` when it is withdrawn (Mastodon applies both only
from the author; a group's Announce of them is dropped). A report about the peer's
content, forwarded with the reporter's consent, reaches it as a verified `Flag` from the
node's instance actor that does not name the reporter.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.fedify_peer import FedifyPeer
from tests.nodes import NodeProcess, eventually, run_script, running_nodes, write_post

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    workdir: Path = tmp_path_factory.mktemp("status-changes")
    with running_nodes(workdir, statuses={}) as started:
        yield started["statuses"]


def _content(note: dict) -> str:
    return note.get("content") or next(iter(note.get("contentMap", {}).values()), "")


async def test_a_peer_following_only_the_neighbourhood_sees_matched_and_withdrawn(
    peer: FedifyPeer, node: NodeProcess
) -> None:
    group, author = node.url("/n/jette-centre"), node.url("/@marleen")
    assert (await peer.follow(group))["delivered"] is True
    await peer.wait_for("Accept", where=lambda a: a["actor"] == group)
    title = "Wie helpt de haag snoeien? (status)"
    post_id = write_post(node, title)
    note_id = node.url(f"/r/{post_id}")
    # The boost Mastodon shows. (The peer outlives this module's node: an earlier node on
    # the same port may have announced other posts, so the match names this post.)
    await peer.wait_for(
        "Announce", where=lambda a: a["actor"] == group and a["object"] == note_id, seconds=20
    )

    write_post(node, title, status="matched")
    update = await peer.wait_for(
        "Update", where=lambda a: a["actor"] == author and a["object"] == note_id, seconds=20
    )
    assert update["signature"]["verifiedBy"] == "http-signature"
    note = update["raw"]["object"]
    assert note["id"] == note_id and note["attributedTo"] == author
    assert note["publishes"]["availableQuantity"]["hasNumericalValue"] == "0"
    assert _content(note).startswith("<p><strong>Helpers gevonden")

    write_post(node, title, status="withdrawn")
    delete = await peer.wait_for(
        "Delete", where=lambda a: a["actor"] == author and a["object"] == note_id, seconds=20
    )
    assert delete["signature"]["verifiedBy"] == "http-signature"
    assert delete["raw"]["object"]["type"] == "Tombstone"
    # Nothing reached the peer as the group's Announce of a change (Mastodon drops it).
    changes = [
        a
        for a in await peer.inbox()
        if a["type"] == "Announce" and isinstance(a["raw"].get("object"), dict)
    ]
    assert changes == []


REPORT_SCRIPT = """
import asyncio, sys
from node import db, events
from node.models import Account, RemoteActor, Report

async def main(url, actor_uri, note_uri, comment):
    await db.open_database(url)
    try:
        reporter = await Account.get(username="marleen")
        remote = await RemoteActor.get(uri=actor_uri)
        async with db.atomic():
            report = await Report.create(
                reporter_account=reporter, remote_actor=remote, category="spam",
                object_uris=[actor_uri, note_uri], comment=comment, forward=True,
            )
            await events.emit(events.ReportForwarded(report.id))
        print(report.id)
    finally:
        await db.close_database()

asyncio.run(main(*sys.argv[1:5]))
"""


async def test_a_forwarded_report_reaches_the_peer_as_a_verified_flag(
    peer: FedifyPeer, node: NodeProcess
) -> None:
    group = node.url("/n/jette-centre")
    await peer.follow(group)  # the node knows alice from her follow
    post = node.first_public_post()
    note_id = (await peer.reply(post, group, "<p>Koop goedkope zonnebrillen!</p>"))["noteId"]
    comment = "Spam: reclame voor zonnebrillen onder een hulpvraag."
    report_id = run_script(node, REPORT_SCRIPT, peer.actor_url, note_id, comment).splitlines()[-1]

    instance = node.url("/actor")
    flag = await peer.wait_for("Flag", where=lambda a: a["actor"] == instance, seconds=20)
    assert flag["signature"]["verifiedBy"] == "http-signature"
    raw = flag["raw"]
    assert raw["object"] == [peer.actor_url, note_id]  # Mastodon's order: actor, then posts
    assert raw["content"] == comment
    # The reporter is not named anywhere in what was sent.
    assert "marleen" not in json.dumps(raw).lower()
    forwarded = await eventually(
        lambda: node.query("SELECT forwarded_at FROM reports WHERE id = ?", int(report_id))
    )
    assert forwarded[0][0] is not None
