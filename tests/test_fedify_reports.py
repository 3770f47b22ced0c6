"""A `Flag` from Fedify (an independent ActivityPub implementation) about an
organisation's post becomes a report routed to that organisation's coordinators."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.fedify_peer import FedifyPeer
from tests.nodes import NodeProcess, eventually, running_nodes

pytestmark = pytest.mark.slow

ORGANISATION_POST = """
SELECT p.id FROM help_posts p JOIN organisations o ON o.id = p.organisation_id
WHERE o.slug = 'tussen-buren' AND p.visibility = 'public' AND p.status = 'open'
ORDER BY p.created_at LIMIT 1
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    workdir: Path = tmp_path_factory.mktemp("fedify-reports")
    with running_nodes(workdir, reports={}) as started:
        yield started["reports"]


async def test_a_flag_about_an_organisations_post_reaches_its_coordinators(
    peer: FedifyPeer, node: NodeProcess
) -> None:
    [(post_id,)] = node.query(ORGANISATION_POST)
    organisation = node.url("/o/tussen-buren")
    post = node.url(f"/r/{post_id}")
    flag = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.actor_url}/flags/1",
        "type": "Flag",
        "actor": peer.actor_url,
        "object": [organisation, post],
        "content": "This asks for bank details.",
    }
    sent = await peer.send(organisation, flag)
    assert sent["delivered"] is True

    def stored() -> list[tuple]:
        return node.query(
            "SELECT r.id, o.slug, r.comment, a.uri FROM reports r"
            " JOIN organisations o ON o.id = r.organisation_id"
            " JOIN remote_actors a ON a.id = r.reporter_remote_id"
            " WHERE r.post_id = ? AND a.uri = ?",
            post_id,
            peer.actor_url,
        )

    [(report_id, slug, comment, reporter)] = await eventually(stored)
    assert slug == "tussen-buren" and reporter == peer.actor_url
    assert comment == "This asks for bank details."
    told = node.query(
        "SELECT a.username FROM notifications n JOIN accounts a ON a.id = n.recipient_id"
        " WHERE n.report_id = ? AND n.kind = 'report'",
        report_id,
    )
    usernames = {name for (name,) in told}
    assert "els" in usernames  # the coordinator of Tussen Buren
    assert "admin" in usernames  # and the node's admin
    assert "karim" not in usernames  # its other staff are not told
