"""Help posts as ActivityStreams Notes with FEP-0837 properties, and who may fetch them."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from federation.proposals import CATEGORY_BASE
from federation.vocab import PUBLIC
from node.models import OutboxActivity
from node.services import organisations, posts, responses
from node.timeutil import utcnow
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node

AP = {"accept": "application/activity+json"}


async def fetch(node: Node, post, headers: dict | None = None):
    return await node.client.get(f"/r/{post.id}", headers=headers or AP)


@pytest.fixture
async def hood():
    return await factories.neighbourhood("jette-centre", commune="Jette")


async def test_public_request_as_a_note(node: Node, hood) -> None:
    greet = await factories.account("greet")
    post = await factories.post(
        greet,
        hood,
        title="Zetel naar het containerpark",
        description="Derde verdieping, geen lift.",
        helpers_needed=2,
        area_hint="near the station",
        private_location="Rue Léopold 12",
        starts_at=utcnow() + timedelta(days=3),
        translations={"fr": {"title": "Canapé au parc à conteneurs", "description": "Sans lift."}},
    )
    response = await fetch(node, post)
    assert response.status_code == 200
    note = response.json()
    assert note["type"] == "Note" and note["id"] == f"{BASE}/r/{post.id}"
    assert note["url"] == note["id"]
    assert note["attributedTo"] == f"{BASE}/@greet"
    assert note["to"] == [PUBLIC]
    assert note["cc"] == [f"{BASE}/@greet/followers", f"{BASE}/n/jette-centre"]
    assert note["audience"] == f"{BASE}/n/jette-centre"
    assert "summary" not in note
    content = note["content"]
    for expected in (
        "Zetel naar het containerpark",
        "Jette Centre, near the station",
        "2 helpers gezocht",
        "Antwoord op dit bericht om je hulp aan te bieden.",
        f'href="{BASE}/r/{post.id}"',
        'class="mention hashtag" rel="tag">#<span>transport</span></a>',
    ):
        assert expected in content
    assert set(note["contentMap"]) == {"nl", "fr"}
    assert "Canapé au parc à conteneurs" in note["contentMap"]["fr"]
    assert "Répondez à ce message" in note["contentMap"]["fr"]
    assert note["purpose"] == "request"
    intent = note["publishes"]
    assert intent["type"] == "Intent" and intent["id"] == f"{note['id']}#primary"
    assert intent["resourceConformsTo"] == CATEGORY_BASE + "transport"
    assert intent["resourceQuantity"] == {"hasUnit": "one", "hasNumericalValue": "2"}
    assert intent["availableQuantity"]["hasNumericalValue"] == "2"
    assert note["location"]["type"] == "Place" and note["location"]["name"] == "Jette Centre, Jette"
    assert "startTime" in note and "endTime" in note
    assert "Léopold" not in response.text  # the exact address never leaves the node


async def test_on_behalf_post_is_the_organisations_and_names_no_worker(node: Node, hood) -> None:
    els = await factories.account("els")
    org = await factories.organisation("tussen-buren")
    await organisations.add_staff(org, els)
    post = await factories.post(
        els,
        hood,
        organisation="tussen-buren",
        on_behalf_label="een oudere dame zonder auto",
        client_consent=True,
    )
    note = (await fetch(node, post)).json()
    assert note["attributedTo"] == f"{BASE}/o/tussen-buren"
    assert "els" not in orjson.dumps(note).decode().lower().replace("jette-centre", "")


async def test_status_travels_in_the_intent(node: Node, hood) -> None:
    greet, helper = await factories.account("greet"), await factories.account("sam")
    post = await factories.post(greet, hood, helpers_needed=1)
    await responses.accept_helper(greet, await responses.offer_help(helper, post))
    matched = (await fetch(node, post)).json()
    assert matched["publishes"]["availableQuantity"]["hasNumericalValue"] == "0"
    assert matched["content"].startswith("<p><strong>Helpers gevonden")
    await posts.change_status(greet, post, "done")
    done = (await fetch(node, post)).json()
    assert done["publishes"]["finished"] is True


async def test_withdrawn_post_is_a_tombstone(node: Node, hood) -> None:
    greet = await factories.account("greet")
    post = await factories.post(greet, hood)
    await posts.change_status(greet, post, "withdrawn")
    response = await fetch(node, post)
    assert response.status_code == 410
    assert response.json()["type"] == "Tombstone"


async def test_followers_only_needs_a_signed_fetch_by_a_follower(
    node: Node, remote: FakeRemote, hood
) -> None:
    greet = await factories.account("greet")
    post = await factories.post(greet, hood, visibility="followers")
    url = f"{BASE}/r/{post.id}"
    assert (await fetch(node, post)).status_code == 404  # unsigned
    assert (await fetch(node, post, remote.signed_get_headers("alice", url))).status_code == 404

    follow = remote.activity("alice", "Follow", f"{BASE}/@greet")
    await node.post_activity(remote, "alice", follow)
    await node.work()
    allowed = await fetch(node, post, remote.signed_get_headers("alice", url))
    assert allowed.status_code == 200
    assert allowed.json()["to"] == [f"{BASE}/@greet/followers"]
    # Bob does not follow greet.
    assert (await fetch(node, post, remote.signed_get_headers("bob", url))).status_code == 404


async def test_members_only_and_unknown_posts_are_404(node: Node, hood) -> None:
    greet = await factories.account("greet")
    post = await factories.post(greet, hood, visibility="members")
    assert (await fetch(node, post)).status_code == 404
    assert (await node.client.get("/r/not-a-uuid", headers=AP)).status_code == 404
    missing = "/r/00000000-0000-0000-0000-000000000000"
    assert (await node.client.get(missing, headers=AP)).status_code == 404


@pytest.mark.parametrize("language", ["de", "fa", "tr"])
async def test_a_post_in_a_language_without_labels_is_served_and_published(
    node: Node, hood, language: str
) -> None:
    """The node's labels are in nl, fr and en; a post in German still federates (its
    category tag is the slug alone), found by the user trial as a 500."""
    greet = await factories.account("greet")
    post = await factories.post(greet, hood, language=language)
    note = (await fetch(node, post)).json()
    assert note["contentMap"].keys() == {language}
    assert "#transport" in [t["name"] for t in note["tag"] if t["type"] == "Hashtag"]
    await node.work()
    assert await OutboxActivity.filter(object_uri=note["id"]).exists()
