"""Discovery and actor documents: WebFinger, NodeInfo, host-meta, content negotiation."""

from __future__ import annotations

import pytest

from node.models import Follow
from node.services import organisations
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node

AP = {"accept": "application/activity+json"}
LD = {"accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}


@pytest.fixture
async def actors(node: Node) -> None:
    hood = await factories.neighbourhood("jette-centre")
    greet = await factories.account("greet", home_neighbourhood=hood)
    org = await factories.organisation("tussen-buren")
    await organisations.add_staff(org, greet)


@pytest.mark.parametrize(
    ("path", "kind", "name"),
    [
        ("/@greet", "Person", "greet"),
        ("/n/jette-centre", "Group", "jette-centre"),
        ("/o/tussen-buren", "Organization", "tussen-buren"),
        ("/actor", "Application", "nabuur.test"),
    ],
)
async def test_actor_documents(node: Node, actors: None, path: str, kind: str, name: str) -> None:
    for headers in (AP, LD):
        response = await node.client.get(path, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/activity+json")
        doc = response.json()
        assert doc["id"] == BASE + path and doc["type"] == kind
        assert doc["preferredUsername"] == name
        for box in ("inbox", "outbox", "followers", "following"):
            assert doc[box] == f"{BASE}{path}/{box}"
        assert doc["endpoints"]["sharedInbox"] == f"{BASE}/inbox"
        assert doc["publicKey"]["id"] == f"{BASE}{path}#main-key"
        assert doc["publicKey"]["owner"] == doc["id"]
        assert doc["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
        assert "PRIVATE" not in response.text
        # Organisations approve their followers (they see followers-only posts).
        assert doc["manuallyApprovesFollowers"] is (kind == "Organization")


@pytest.mark.parametrize("path", ["/@greet", "/n/jette-centre", "/o/tussen-buren"])
async def test_browsers_get_html_with_an_alternate_link(
    node: Node, actors: None, path: str
) -> None:
    response = await node.client.get(path, headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert (
        f'<link rel="alternate" type="application/activity+json" href="{BASE}{path}">'
        in response.text
    )


async def test_unknown_actor_is_404_in_json(node: Node, actors: None) -> None:
    response = await node.client.get("/@nobody", headers=AP)
    assert response.status_code == 404
    assert response.json() == {"error": "no such actor"}


@pytest.mark.parametrize(
    ("resource", "href"),
    [
        ("acct:greet@nabuur.test", f"{BASE}/@greet"),
        ("acct:jette-centre@nabuur.test", f"{BASE}/n/jette-centre"),
        ("acct:tussen-buren@nabuur.test", f"{BASE}/o/tussen-buren"),
        ("acct:nabuur.test@nabuur.test", f"{BASE}/actor"),
        (f"{BASE}/n/jette-centre", f"{BASE}/n/jette-centre"),
    ],
)
async def test_webfinger(node: Node, actors: None, resource: str, href: str) -> None:
    response = await node.client.get("/.well-known/webfinger", params={"resource": resource})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jrd+json")
    jrd = response.json()
    links = {link["rel"]: link for link in jrd["links"]}
    assert links["self"] == {"rel": "self", "type": "application/activity+json", "href": href}
    assert links["http://webfinger.net/rel/profile-page"]["href"] == href
    assert "{uri}" in links["http://ostatus.org/schema/1.0/subscribe"]["template"]
    assert jrd["subject"].endswith("@nabuur.test")


@pytest.mark.parametrize(
    ("resource", "status"),
    [
        ("", 400),
        ("acct:nobody@nabuur.test", 404),
        ("acct:greet@elsewhere.example", 404),
        ("https://elsewhere.example/@greet", 404),
        ("acct:", 404),
    ],
)
async def test_webfinger_errors(node: Node, actors: None, resource: str, status: int) -> None:
    response = await node.client.get("/.well-known/webfinger", params={"resource": resource})
    assert response.status_code == status
    assert "error" in response.json()


async def test_host_meta_points_at_webfinger(node: Node) -> None:
    response = await node.client.get("/.well-known/host-meta")
    assert response.status_code == 200
    assert f'template="{BASE}/.well-known/webfinger?resource={{uri}}"' in response.text


@pytest.mark.parametrize("version", ["2.0", "2.1"])
async def test_nodeinfo(node: Node, actors: None, version: str) -> None:
    links = (await node.client.get("/.well-known/nodeinfo")).json()["links"]
    assert {link["href"] for link in links} == {f"{BASE}/nodeinfo/2.0", f"{BASE}/nodeinfo/2.1"}
    info = (await node.client.get(f"/nodeinfo/{version}")).json()
    assert info["version"] == version
    assert info["software"]["name"] == "nabuur"
    assert info["protocols"] == ["activitypub"]
    assert info["usage"]["users"]["total"] == 1
    assert info["openRegistrations"] is False
    assert info["metadata"]["neighbourhoods"][0]["slug"] == "jette-centre"
    assert (await node.client.get("/nodeinfo/9.9")).status_code == 404


async def test_followers_collection_gives_the_count_only(
    node: Node, actors: None, remote: FakeRemote
) -> None:
    for index in range(25):
        name = f"fan{index}"
        remote.add_actor(name, index % 3)
        follow = remote.activity(name, "Follow", f"{BASE}/n/jette-centre")
        assert (await node.post_activity(remote, name, follow)).status_code == 202
    await node.work()
    assert await Follow.all().count() == 25
    for path in ("/n/jette-centre/followers", "/n/jette-centre/followers?page=1"):
        response = await node.client.get(path)
        collection = response.json()
        assert collection["type"] == "OrderedCollection" and collection["totalItems"] == 25
        assert "first" not in collection and "orderedItems" not in collection
        assert remote.base not in response.text  # no follower is named


async def test_outbox_and_following_start_empty(node: Node, actors: None) -> None:
    for box in ("outbox", "following"):
        doc = (await node.client.get(f"/n/jette-centre/{box}")).json()
        assert doc["totalItems"] == 0
