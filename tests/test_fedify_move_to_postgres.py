"""Moving a node to PostgreSQL, seen from another server: followers notice nothing.

A node made with `nabuur init` on SQLite, served by `nabuur run`, is followed from the
Fedify peer (its neighbourhood and its admin). It is stopped, moved with `nabuur
move-to-postgres` and served again by `nabuur run` on the PostgreSQL URL at the same
address: its actors keep their keys, the peer still follows both, and a new public
request reaches the peer as a `Create` (and the neighbourhood's `Announce`) whose
signatures Fedify verified.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import _pg_admin, _pg_url
from tests.interop.fedify_peer import FedifyPeer
from tests.nodes import POST_SCRIPT, InitNodeProcess, NodeProcess, eventually, get_json

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_target(postgres_database: str) -> Iterator[str]:
    """A new PostgreSQL database with nothing in it (no tables either)."""
    name = f"{postgres_database.rsplit('/', 1)[1]}_mvf{secrets.token_hex(3)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _accepted_follows(rows: list[Any]) -> set[tuple[str, str]]:
    return {(kind, str(target)) for kind, target in rows}


FOLLOWS_OF = (
    "SELECT f.target_kind, coalesce(n.slug, ac.username) FROM follows f"
    " JOIN remote_actors a ON a.id = f.follower_remote_id"
    " LEFT JOIN neighbourhoods n ON n.id = f.neighbourhood_id"
    " LEFT JOIN accounts ac ON ac.id = f.account_id"
    " WHERE a.uri = {} AND f.status = 'accepted'"
)


async def _pg_follows(url: str, actor_uri: str) -> set[tuple[str, str]]:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        rows = await conn.fetch(FOLLOWS_OF.format("$1"), actor_uri)
        return _accepted_follows([tuple(row) for row in rows])
    finally:
        await conn.close()


def move_as_operator(node: NodeProcess, target: str) -> subprocess.CompletedProcess[str]:
    """`nabuur move-to-postgres TARGET` as the operator runs it, with the node's settings."""
    return subprocess.run(
        [sys.executable, "-m", "node.cli", "move-to-postgres", target],
        cwd=node.workdir,
        env=node.env,  # NABUUR_DATABASE_URL: the node's SQLite file
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def publish(node: NodeProcess, url: str, title: str) -> str:
    """A public request by @gemeente in jette-centre, through the services; its id."""
    result = subprocess.run(
        [sys.executable, "-c", POST_SCRIPT, url, "gemeente", title, ""],
        cwd=node.workdir,
        env=node.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


async def test_followers_on_a_fedify_peer_notice_nothing(
    peer: FedifyPeer, pg_target: str, tmp_path: Path
) -> None:
    node = InitNodeProcess(tmp_path, "moving", admin_username="gemeente")
    node.init()
    added = node.cli(
        "neighbourhood", "add", "jette-centre", "--name", "Jette Centre",
        "--centre", "50.878,4.325", "--radius", "800",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    group, person = node.url("/n/jette-centre"), node.url("/@gemeente")
    try:
        node.start().wait_ready()
        for actor in (group, person):
            assert (await peer.follow(actor))["delivered"] is True
            await peer.wait_for("Accept", where=lambda a, actor=actor: a["actor"] == actor)
        keys = {url: (await get_json(url))["publicKey"] for url in (group, person)}
        followed = await eventually(
            lambda: _accepted_follows(node.query(FOLLOWS_OF.format("?"), peer.actor_url))
        )
        assert followed == {("neighbourhood", "jette-centre"), ("account", "gemeente")}
        node.stop()

        before = sha256(node.database)
        moved = move_as_operator(node, pg_target)
        assert moved.returncode == 0, moved.stderr
        assert sha256(node.database) == before
        assert "follows                  2 rows" in moved.stderr
        assert "Verified" in moved.stdout and "NABUUR_DATABASE_URL=" in moved.stdout

        # Served again from PostgreSQL, at the same address.
        node.env["NABUUR_DATABASE_URL"] = pg_target
        node.start().wait_ready()  # its SQLite file is still there: no new `init`
        for url, key in keys.items():
            assert (await get_json(url))["publicKey"] == key
        assert await _pg_follows(pg_target, peer.actor_url) == followed

        title = "Wie helpt mee de geveltuin planten? (na de verhuis)"
        post_id = publish(node, pg_target, title)
        note_id = node.url(f"/r/{post_id}")
        create = await peer.wait_for(
            "Create", where=lambda a: a["actor"] == person and a["object"] == note_id, seconds=30
        )
        assert create["signature"]["verifiedBy"] == "http-signature"
        announce = await peer.wait_for(
            "Announce", where=lambda a: a["actor"] == group and a["object"] == note_id, seconds=30
        )
        assert announce["signature"]["verifiedBy"] == "http-signature"
        assert await _pg_follows(pg_target, peer.actor_url) == followed
    finally:
        node.stop()
