"""Three Nabuur nodes as real processes on loopback: discovery, follows, undo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.nodes import NodeProcess, eventually, get_json, running_nodes, write_post

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProcess]]:
    workdir = tmp_path_factory.mktemp("nodes")
    with running_nodes(workdir, a={}, b={}, c={}) as started:
        yield started


async def followers_of(node: NodeProcess, path: str) -> set[str]:
    """The remote followers of a neighbourhood, read on the node: its followers
    collection gives their number only (FEDERATION.md, "Actors")."""
    rows = node.query(
        "SELECT a.uri FROM follows f JOIN remote_actors a ON a.id = f.follower_remote_id"
        " JOIN neighbourhoods n ON n.id = f.neighbourhood_id"
        " WHERE n.slug = ? AND f.status = 'accepted'",
        path.removeprefix("/n/"),
    )
    return {uri for (uri,) in rows}


async def following_of(node: NodeProcess, path: str) -> set[str]:
    collection = await get_json(node.url(f"{path}/following"), page="1")
    return set(collection["orderedItems"])


async def test_discovery_across_nodes(nodes: dict[str, NodeProcess]) -> None:
    a = nodes["a"]
    domain = f"127.0.0.1:{a.port}"
    jrd = await get_json(a.url("/.well-known/webfinger"), resource=f"acct:jette-centre@{domain}")
    [self_link] = [link for link in jrd["links"] if link["rel"] == "self"]
    group = await get_json(self_link["href"])
    assert group["type"] == "Group" and group["id"] == a.url("/n/jette-centre")
    info = await get_json(a.url("/nodeinfo/2.1"))
    assert info["software"]["name"] == "nabuur"
    assert {h["slug"] for h in info["metadata"]["neighbourhoods"]} == {"jette-centre", "dieleghem"}


async def test_follow_accept_and_undo_between_nodes(
    nodes: dict[str, NodeProcess], tmp_path: Path
) -> None:
    a, b, c = nodes["a"], nodes["b"], nodes["c"]
    group = a.url("/n/jette-centre")
    for follower in (b, c):
        result = follower.cli("follow", group)
        assert result.returncode == 0, result.stderr
    # A organisation follows across too: c's organisation follows b's neighbourhood.
    assert c.cli("follow", b.url("/n/dieleghem"), "--as", "tussen-buren").returncode == 0

    expected = {b.url("/actor"), c.url("/actor")}
    await eventually(lambda: _contains(followers_of(a, "/n/jette-centre"), expected))
    # Each follower saw A's Accept: the follow is accepted on its side too.
    for follower in (b, c):
        assert group in await eventually(lambda f=follower: following_of(f, "/actor"))
    assert b.url("/n/dieleghem") in await eventually(lambda: following_of(c, "/o/tussen-buren"))
    assert c.url("/o/tussen-buren") in await followers_of(b, "/n/dieleghem")

    # B unfollows: A forgets B and keeps C.
    assert b.cli("unfollow", group).returncode == 0
    await eventually(lambda: _lacks(followers_of(a, "/n/jette-centre"), {b.url("/actor")}))
    assert c.url("/actor") in await followers_of(a, "/n/jette-centre")
    assert group not in await following_of(b, "/actor")


async def _contains(pending, expected: set[str]) -> bool:
    return expected <= await pending


async def _lacks(pending, unexpected: set[str]) -> bool:
    return not (unexpected & await pending)


async def test_a_request_on_one_node_reaches_followers_on_another(
    nodes: dict[str, NodeProcess],
) -> None:
    """C follows A's neighbourhood; a new request there appears on C's pages as nearby,
    and disappears when it is withdrawn on A."""
    a, c = nodes["a"], nodes["c"]
    title = "Haag snoeien in de voortuin (multinode)"
    post_id = write_post(a, title)
    note_url = a.url(f"/r/{post_id}")

    def stored_on_c() -> list:
        return c.query("SELECT title, kind FROM remote_posts WHERE object_uri = ?", note_url)

    assert await eventually(stored_on_c, seconds=20) == [(title, "request")]
    page = await _html(c.url("/n/dieleghem"))
    assert title in page
    note = await get_json(note_url)
    assert note["purpose"] == "request" and note["attributedTo"] == a.url("/@marleen")

    write_post(a, title, status="withdrawn")
    await eventually(lambda: stored_on_c() == [], seconds=20)


async def _html(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.text()


async def test_nodes_logged_signed_deliveries(nodes: dict[str, NodeProcess]) -> None:
    a = nodes["a"]
    log = a.log_path.read_text()
    assert "deliver Accept" in log and " 202 sent" in log
    assert "Traceback" not in log
