"""Services of the directory between real processes: Fedify (an independent ActivityPub
implementation) follows an organisation and receives its service, signed and parsed as
a `Note`; a second node that follows the organisation lists the service as "services
nearby". Services are made in the node's database with their event, as the directory's
CRUD does (FEDERATION.md, "Services").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.interop.fedify_peer import FedifyPeer
from tests.nodes import NodeProcess, eventually, get_json, run_script

pytestmark = pytest.mark.slow

ORG = "tussen-buren"

OPEN_ORG_SCRIPT = """
import asyncio, sys
from node import db
from node.models import Organisation

async def main(url, slug):
    await db.open_database(url)
    try:
        await Organisation.filter(slug=slug).update(manually_approves_followers=False)
    finally:
        await db.close_database()

asyncio.run(main(*sys.argv[1:3]))
"""

SERVICE_SCRIPT = """
import asyncio, sys
from node import db, events
from node.models import Organisation, Service

async def main(url, slug, name):
    await db.open_database(url)
    try:
        async with db.atomic():
            org = await Organisation.get(slug=slug)
            service = await Service.create(
                organisation=org, language="nl",
                name={"nl": name, "fr": name + " (fr)"},
                description={"nl": "Kom langs met je kapotte toestellen."},
                categories=["diy"], phone="02 000 00 00", hours={"nl": "za 14-17"},
                website="https://example.org/repair", free=True,
            )
            await events.emit(events.ServiceChanged(str(service.id), True))
        print(service.id)
    finally:
        await db.close_database()

asyncio.run(main(*sys.argv[1:4]))
"""

DELETE_SCRIPT = """
import asyncio, sys
from node import db, events
from node.models import Service

async def main(url, service_id):
    await db.open_database(url)
    try:
        async with db.atomic():
            service = await Service.get(id=service_id)
            await service.delete()
            await events.emit(events.ServiceRemoved(service_id, service.organisation_id))
    finally:
        await db.close_database()

asyncio.run(main(*sys.argv[1:3]))
"""


def publish_service(node: NodeProcess, name: str) -> str:
    """A new service of the organisation on `node`; returns its URL."""
    run_script(node, OPEN_ORG_SCRIPT, ORG)
    service_id = run_script(node, SERVICE_SCRIPT, ORG, name).splitlines()[-1]
    return node.url(f"/services/{service_id}")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProcess]]:
    """Two demo nodes; seeding them may take over a minute on a busy machine."""
    workdir: Path = tmp_path_factory.mktemp("service-nodes")
    started = {name: NodeProcess(workdir, name).start() for name in ("a", "b")}
    try:
        for node in started.values():
            node.wait_ready(seconds=240)
        yield started
    finally:
        for node in started.values():
            node.stop()


async def test_fedify_receives_a_verified_service_note(
    peer: FedifyPeer, nodes: dict[str, NodeProcess]
) -> None:
    node = nodes["a"]
    org = node.url(f"/o/{ORG}")
    run_script(node, OPEN_ORG_SCRIPT, ORG)
    assert (await peer.follow(org))["delivered"] is True
    await peer.wait_for("Accept", where=lambda a: a["actor"] == org)

    url = publish_service(node, "Repair café Jette")
    create = await peer.wait_for(
        "Create", where=lambda a: a["actor"] == org and a["object"] == url, seconds=20
    )
    assert create["signature"]["verifiedBy"] == "http-signature"
    note = create["activity"]["object"]  # as Fedify parsed it
    assert note["type"] == "Note" and note["id"] == url
    assert note["attributedTo"] == org
    content = note.get("contentMap") or {"": note.get("content")}
    assert any("Repair café Jette" in text for text in content.values())
    # The raw body carries our machine-readable terms (Fedify drops what it does not know).
    raw = create["raw"]
    assert raw["object"]["service"]["type"] == "DirectoryService"
    assert "https://nabuur.org/ns#" in str(raw["@context"]) and "purpose" not in raw["object"]

    fetched = await peer.fetch(url, signed=False)
    assert fetched["status"] == 200 and fetched["document"]["type"] == "Note"

    run_script(node, DELETE_SCRIPT, url.rsplit("/", 1)[1])
    delete = await peer.wait_for(
        "Delete", where=lambda a: a["actor"] == org and a["object"] == url, seconds=20
    )
    assert delete["signature"]["verifiedBy"] == "http-signature"
    assert delete["activity"]["object"]["type"] == "Tombstone"


async def test_a_following_node_lists_the_service_nearby(nodes: dict[str, NodeProcess]) -> None:
    a, b = nodes["a"], nodes["b"]
    org = a.url(f"/o/{ORG}")
    run_script(a, OPEN_ORG_SCRIPT, ORG)
    result = b.cli("follow", org)
    assert result.returncode == 0, result.stderr
    await eventually(
        lambda: (
            b.query(
                "SELECT f.status FROM outgoing_follows f JOIN remote_actors r ON r.id = f.target_id"
                " WHERE r.uri = ?",
                org,
            )
            == [("accepted",)]
        )
    )
    url = publish_service(a, "Fietsherstelplaats")
    await eventually(
        lambda: (url,) in b.query("SELECT object_uri FROM remote_services"), seconds=30
    )
    served = await get_json(url)
    assert served["service"]["categories"] == ["https://nabuur.org/ns/category/diy"]
    async with (
        aiohttp.ClientSession() as session,
        session.get(b.url("/services"), headers={"accept-language": "nl"}) as page,
    ):
        assert page.status == 200 and "Fietsherstelplaats" in await page.text()
