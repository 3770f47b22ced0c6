"""Federation of what admins change: a neighbourhood's or organisation's profile reaches
its followers as an `Update` of the actor, and partner organisations on other nodes are
named on a request's Note (and, the other way round, shown on our organisation's
dashboard when another node names it)."""

from __future__ import annotations

import io

from PIL import Image

from federation.vocab import PUBLIC
from node.images import process_icon
from node.models import Organisation, Role
from node.services import casework, neighbourhoods, organisations
from node.services.neighbourhoods import NeighbourhoodForm
from node.services.organisations import OrganisationForm
from node.services.remote_actors import RemoteActorData
from tests import factories
from tests.fakeremote import FakeRemote, public_pem
from tests.federation_fixtures import BASE, Node


def received(remote: FakeRemote, kind: str) -> list[dict]:
    return [r.json for r in remote.received if r.json["type"] == kind]


async def test_an_edited_neighbourhood_reaches_followers_as_an_update_of_the_group(
    node: Node, remote: FakeRemote
) -> None:
    admin = await factories.account("els", role=Role.ADMIN)
    hood = await factories.neighbourhood("jette-centre")
    follow = remote.activity("alice", "Follow", f"{BASE}/n/jette-centre")
    await node.post_activity(remote, "alice", follow)
    await node.work()
    remote.received.clear()

    form = NeighbourhoodForm(
        name="Jette-Centrum",
        country="BE",
        description={"nl": "Rond het station", "fr": "Autour de la gare"},
        centre="50.878, 4.325",
        radius_m="900",
    )
    await neighbourhoods.update_from_form(hood, form, admin)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, "JPEG")
    await neighbourhoods.set_icon(hood, process_icon(buffer.getvalue()), admin)
    await node.work()

    updates = received(remote, "Update")
    assert len(updates) == 2
    update = updates[-1]
    group = update["object"]
    # Mastodon takes an actor's Update only from that actor, about itself.
    assert update["actor"] == group["id"] == f"{BASE}/n/jette-centre"
    assert group["type"] == "Group" and group["name"] == "Jette-Centrum"
    assert group["summaryMap"]["fr"] == "<p>Autour de la gare</p>"
    assert group["icon"]["mediaType"] == "image/jpeg"
    assert (await node.client.get(group["icon"]["url"].removeprefix(BASE))).status_code == 200
    assert update["to"] == [PUBLIC]
    assert "@context" in update and "@context" not in group
    # Signed by the group itself: the remote verifies with the group's key.
    assert 'keyId="http://nabuur.test/n/jette-centre#main-key"' in next(
        r.headers["signature"] for r in remote.received if r.json["type"] == "Update"
    )


async def test_an_organisation_nobody_follows_sends_nothing(node: Node, remote: FakeRemote) -> None:
    org = await factories.organisation("buurthuis")
    coordinator = await factories.coordinator_of(org, "karim")
    await organisations.update_organisation(
        org, OrganisationForm(name="Buurthuis Jette", kind="ngo"), coordinator
    )
    await node.work()
    assert remote.received == []


async def organisation_elsewhere(remote: FakeRemote, name: str = "buurtwerk") -> RemoteActorData:
    remote.add_actor(name, 2, actor_type="Organization")
    url = remote.actor_url(name)
    return RemoteActorData(
        uri=url,
        domain=remote.base.split("//")[1],
        actor_type="Organization",
        username=name,
        display_name="Buurtwerk Utrecht",
        summary_html="",
        url=url,
        icon_url=None,
        inbox=f"{url}/inbox",
        shared_inbox=f"{remote.base}/inbox",
        followers_url=None,
        key_id=remote.key_id(name),
        public_key_pem=public_pem(remote.keys[name]),
        manually_approves_followers=False,
    )


async def test_a_partner_elsewhere_is_mentioned_and_gets_the_request(
    node: Node, remote: FakeRemote
) -> None:
    org = await factories.organisation("buurthuis")
    els = await factories.coordinator_of(org, "els")
    hood = await factories.neighbourhood("jette-centre")
    post = await factories.post(els, hood, organisation="buurthuis")
    local_partner = await factories.organisation("andere-vzw")
    await node.work()
    remote.received.clear()

    partner = await organisation_elsewhere(remote)
    await casework.add_remote_partner(post, partner, by=els)
    await casework.add_local_partner(post, local_partner, by=els)
    await node.work()
    # One Update per partner named; the last one names both.
    update = [u for u in received(remote, "Update") if u["actor"] == f"{BASE}/o/buurthuis"][-1]
    note = update["object"]
    mentions = [t for t in note["tag"] if t["type"] == "Mention"]
    assert {m["href"] for m in mentions} == {partner.uri, f"{BASE}/o/andere-vzw"}
    assert partner.uri in note["cc"] and partner.uri in update["cc"]
    assert "Buurtwerk" not in note["content"] and "@buurtwerk@" in note["content"]

    remote.received.clear()
    [row] = [p for p in await casework.partners_of(post) if p.remote_actor is not None]
    await casework.remove_partner(post, row.id, by=els)
    await node.work()
    # The former partner is told: the Note without its mention.
    updates = received(remote, "Update")
    assert updates and all(
        partner.uri not in {t.get("href") for t in u["object"]["tag"]} for u in updates
    )


async def test_a_request_naming_our_organisation_shows_on_its_dashboard(
    node: Node, remote: FakeRemote
) -> None:
    org = await factories.organisation("buurthuis")
    remote.add_actor("buurtwerk", 2, actor_type="Organization")
    note = {
        "id": remote.new_id("notes"),
        "type": "Note",
        "attributedTo": remote.actor_url("buurtwerk"),
        "to": [PUBLIC],
        "cc": [f"{BASE}/o/buurthuis"],
        "name": "Verhuis naar Jette",
        "content": "<p>Help bij een verhuis</p>",
        "purpose": "request",
        "tag": [{"type": "Mention", "href": f"{BASE}/o/buurthuis", "name": "@buurthuis"}],
    }
    create = remote.activity("buurtwerk", "Create", note)
    assert (await node.post_activity(remote, "buurtwerk", create)).status_code == 202
    await node.work()
    [shared] = await organisations.remote_partner_posts(org)
    assert shared.title == "Verhuis naar Jette"

    # Named no more: gone from the dashboard.
    update = remote.activity("buurtwerk", "Update", {**note, "tag": [], "cc": []})
    await node.post_activity(remote, "buurtwerk", update)
    await node.work()
    assert await organisations.remote_partner_posts(org) == []


async def test_a_person_mentioning_an_organisation_does_not_put_posts_on_its_dashboard(
    node: Node, remote: FakeRemote
) -> None:
    org = await factories.organisation("buurthuis")
    note = {
        "id": remote.new_id("notes"),
        "type": "Note",
        "attributedTo": remote.actor_url("alice"),
        "to": [PUBLIC],
        "name": "Spam",
        "content": "<p>Spam</p>",
        "purpose": "request",
        "tag": [{"type": "Mention", "href": f"{BASE}/o/buurthuis"}],
    }
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", note))
    await node.work()
    assert await organisations.remote_partner_posts(org) == []
    assert await Organisation.get(id=org.id)
