"""Services of the directory on the wire, both ways, on SQLite and PostgreSQL.

Out: a `Note` by the organisation (readable card per language, our `service` object for
machines), Create/Update/Delete to its followers' shared inboxes, served at its URL.
In: a followed partner's service is stored (sanitised, origin-checked), kept in sync and
listed as "services nearby"; a stranger's is ignored; it is never taken for a request.
Services are made as model rows with their events, as the directory's CRUD does.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.handlers.services import parse_service
from federation.parse import ParseError, is_proposal
from federation.services_out import load_note
from federation.vocab import PUBLIC
from node import db, events
from node.models import InboxItem, RemotePost, RemoteService, Service, ServiceArea
from node.services import remote_services
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node
from tests.test_remote_posts import follow_remote

NS = "https://nabuur.org/ns#"
AP = {"accept": "application/activity+json"}


async def make_service(org: Any, **fields: Any) -> Service:
    values: dict[str, Any] = {
        "organisation": org,
        "language": "nl",
        "name": {"nl": "Gratis ophaling grofvuil", "fr": "Enlèvement gratuit des encombrants"},
        "description": {"nl": "Wij halen <grof> vuil op.", "fr": "Nous enlevons vos encombrants."},
        "categories": ["transport", "cleaning"],
        "phone": "02 423 12 00",
        "email": "grofvuil@jette.example.be",
        "hours": {"nl": "ma–vr 9–12", "fr": "lu–ve 9–12"},
        "address": "Wemmelsesteenweg 100, Jette",
        "website": "https://jette.example.be/grofvuil",
        "free": True,
        **fields,
    }
    async with db.atomic():
        service = await Service.create(**values)
        await events.emit(events.ServiceChanged(str(service.id), True))
    return service


def _documented_example() -> dict[str, Any]:
    text = (Path(__file__).parent.parent / "FEDERATION.md").read_text()
    section = text[text.index("\n## Services\n") :]
    return json.loads(section[section.index("```json") + 7 : section.index("\n```\n")])


async def test_the_note_is_readable_and_machine_readable(node: Node) -> None:
    org = await factories.organisation("buurthuis")
    await factories.neighbourhood("jette-centre")
    await factories.neighbourhood("jette-noord")
    service = await make_service(org, everywhere=False)
    hood = await factories.neighbourhood("laken")
    await ServiceArea.create(service=service, neighbourhood=hood)
    note = await load_note(node.settings, service.id)
    assert note is not None
    url = f"{BASE}/services/{service.id}"
    assert (note["id"], note["url"], note["type"]) == (url, url, "Note")
    assert note["attributedTo"] == f"{BASE}/o/buurthuis"
    assert note["to"] == [PUBLIC] and note["cc"] == [f"{BASE}/o/buurthuis/followers"]
    assert "purpose" not in note and "publishes" not in note and "updated" not in note
    assert not is_proposal({**note, "purpose": "offer"})  # the marker wins
    assert set(note["contentMap"]) == {"nl", "fr"} and note["content"] == note["contentMap"]["nl"]
    nl = note["contentMap"]["nl"]
    assert "<strong>" in nl and "Gratis ophaling grofvuil" in nl and "&lt;grof&gt;" in nl
    assert "02 423 12 00" in nl and "ma–vr 9–12" in nl and "Laken" in nl
    assert '<a href="https://jette.example.be/grofvuil">' in nl and f'<a href="{url}">' in nl
    assert 'rel="tag">#<span>transport</span>' in nl and "Enlèvement" in note["contentMap"]["fr"]
    assert {"type": "Hashtag", "href": f"{BASE}/services", "name": "#nabuur"} in note["tag"]
    assert NS in str(note["@context"]) and BASE not in str(note["@context"])
    described = note["service"]
    assert described["type"] == "DirectoryService"
    assert described["categories"] == [
        "https://nabuur.org/ns/category/transport",
        "https://nabuur.org/ns/category/cleaning",
    ]
    assert described["areaServed"] == [{"type": "Group", "id": f"{BASE}/n/laken", "name": "Laken"}]
    assert described["nameMap"]["fr"] == "Enlèvement gratuit des encombrants"
    assert described["openingHours"] == {"nl": "ma–vr 9–12", "fr": "lu–ve 9–12"}
    assert (described["telephone"], described["free"]) == ("02 423 12 00", True)
    assert described["website"] == "https://jette.example.be/grofvuil"
    # Everywhere: every neighbourhood of the node, by name.
    await Service.filter(id=service.id).update(everywhere=True)
    everywhere = await load_note(node.settings, service.id)
    assert [a["name"] for a in everywhere["service"]["areaServed"]] == [  # type: ignore[index]
        "Jette Centre",
        "Jette Noord",
        "Laken",
    ]

    # FEDERATION.md's example has the shape we send (a service written in two languages).
    documented = _documented_example()
    assert set(documented) == set(note) - {"updated"} and documented["@context"] == note["@context"]
    assert set(documented["service"]) <= set(described) | {"email"}

    served = await node.client.get(f"/services/{service.id}", headers=AP)
    assert served.status_code == 200 and served.json()["service"]["type"] == "DirectoryService"
    assert served.headers["content-type"].startswith("application/activity+json")
    for missing in (str(uuid.uuid4()), str(service.id).upper(), "nope"):
        assert (await node.client.get(f"/services/{missing}", headers=AP)).status_code == 404


async def test_followers_get_create_update_and_delete(node: Node, remote: FakeRemote) -> None:
    org = await factories.organisation("buurthuis")
    org.manually_approves_followers = False
    await org.save()
    for name in ("alice", "bob"):  # two people behind one shared inbox
        follow = remote.activity(name, "Follow", f"{BASE}/o/buurthuis")
        await node.post_activity(remote, name, follow)
    await node.work()
    service = await make_service(org)
    await node.work()

    def sent(kind: str) -> list[dict[str, Any]]:
        return [
            r.json
            for r in remote.received
            if r.json["type"] == kind and "signature" in r.headers and r.path == "/inbox"
        ]

    [create] = sent("Create")
    assert create["actor"] == f"{BASE}/o/buurthuis" and create["to"] == [PUBLIC]
    assert create["object"]["service"]["telephone"] == "02 423 12 00"
    assert "@context" not in create["object"] and NS in str(create["@context"])

    async with db.atomic():
        await Service.filter(id=service.id).update(name={"nl": "Grofvuil, nu ook zaterdag"})
        await events.emit(events.ServiceChanged(str(service.id), False))
    await node.work()
    [update] = sent("Update")
    assert update["object"]["name"] == "Grofvuil, nu ook zaterdag" and update["object"]["updated"]

    async with db.atomic():
        await Service.filter(id=service.id).delete()
        await events.emit(events.ServiceRemoved(str(service.id), org.id))
    await node.work()
    [delete] = sent("Delete")
    assert delete["object"]["type"] == "Tombstone"
    assert delete["object"]["id"] == f"{BASE}/services/{service.id}"
    assert (await node.client.get(f"/services/{service.id}", headers=AP)).status_code == 404


def service_note(remote: FakeRemote, name: str, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": remote.object_url(key),
        "type": "Note",
        "attributedTo": remote.actor_url(name),
        "to": [PUBLIC],
        "content": "<p><strong>Repair café</strong></p><script>x()</script>",
        "contentMap": {
            "en": "<p><strong>Repair café</strong></p><script>x()</script>",
            "xx": "<p>?</p>",
        },
        "url": remote.object_url(key),
        "published": "2026-11-20T10:00:00Z",
        "service": {
            "type": "DirectoryService",
            "nameMap": {"en": "Repair café", "nl": "Repair café Laken"},
            "categories": ["https://nabuur.org/ns/category/diy", "https://evil.example/x"],
            "areaServed": [{"type": "Group", "id": remote.actor_url("grp"), "name": "Laeken"}],
            "telephone": "02 000 00 00",
            "openingHours": {"en": "Saturdays 14–17"},
            "website": "javascript:alert(1)",
            "free": True,
        },
        "somethingNew": {"we": "ignore"},
        **extra,
    }


async def test_a_followed_partners_services_are_kept_in_sync(
    node: Node, remote: FakeRemote
) -> None:
    await follow_remote(node, remote, "alice")
    note = service_note(remote, "alice", "s1", purpose="request")  # not a request for all that
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", note))
    await node.work()
    stored = await RemoteService.get(object_uri=note["id"])
    assert stored.name_map == {"en": "Repair café", "nl": "Repair café Laken"}
    assert set(stored.content_map) == {"en"} and "<script>" not in stored.content_map["en"]
    assert (stored.categories, stored.places, stored.website) == (["diy"], ["Laeken"], None)
    assert stored.hours_map == {"en": "Saturdays 14–17"} and stored.free is True
    assert await RemotePost.all().count() == 0
    [listed] = await remote_services.nearby("nl")
    assert (listed.name, listed.url, listed.handle) == (
        "Repair café Laken",
        note["id"],
        "@alice@" + remote.base.split("//")[1],
    )
    assert await remote_services.nearby("en", category="diy")
    assert not await remote_services.nearby("en", category="meals")
    page = await node.client.get("/services", headers={"accept-language": "en"})
    assert "Services nearby" in page.text and "Repair café" in page.text
    assert "<script>" not in page.text and "Saturdays 14–17" in page.text
    other = await node.client.get("/services?category=meals", headers={"accept-language": "en"})
    assert "Services nearby" not in other.text

    edited = {**note, "service": {**note["service"], "nameMap": {"en": "Repair café Brussels"}}}
    await node.post_activity(remote, "alice", remote.activity("alice", "Update", edited))
    await node.work()
    assert (await RemoteService.get(object_uri=note["id"])).name_map == {
        "en": "Repair café Brussels"
    }

    await node.post_activity(remote, "alice", remote.activity("alice", "Delete", note["id"]))
    await node.work()
    assert not await RemoteService.exists(object_uri=note["id"])


async def test_strangers_and_forgeries_store_nothing(node: Node, remote: FakeRemote) -> None:
    await follow_remote(node, remote, "alice")
    stranger = service_note(remote, "bob", "s2")
    await node.post_activity(remote, "bob", remote.activity("bob", "Create", stranger))
    # alice sends a service that claims to be bob's, and one whose id is elsewhere.
    claimed = service_note(remote, "bob", "s3")
    elsewhere = {**service_note(remote, "alice", "s4"), "id": "https://elsewhere.example/s4"}
    for obj in (claimed, elsewhere):
        await node.post_activity(remote, "alice", remote.activity("alice", "Create", obj))
    await node.work()
    assert await RemoteService.all().count() == 0 and await RemotePost.all().count() == 0
    outcomes = {i.payload["object"]["id"]: i.status for i in await InboxItem.all()}
    assert outcomes[stranger["id"]] == "ignored"
    assert outcomes[claimed["id"]] == outcomes["https://elsewhere.example/s4"] == "rejected"
    # Only its publisher may delete it.
    await node.post_activity(
        remote, "alice", remote.activity("alice", "Create", service_note(remote, "alice", "s5"))
    )
    await node.work()
    await node.post_activity(
        remote, "bob", remote.activity("bob", "Delete", remote.object_url("s5"))
    )
    await node.work()
    assert await RemoteService.exists(object_uri=remote.object_url("s5"))


ACTOR = "https://peer.example/o/repair"
values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=30), st.lists(st.text(max_size=5))
)
maps = st.dictionaries(st.text(max_size=6), values, max_size=4)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    described=st.dictionaries(
        st.sampled_from(
            [
                "nameMap",
                "categories",
                "areaServed",
                "telephone",
                "email",
                "openingHours",
                "address",
                "website",
                "free",
            ]
        ),
        st.one_of(values, maps, st.lists(maps, max_size=3)),
    ),
    content=st.one_of(values, maps),
)
def test_any_service_object_parses_or_is_refused_cleanly(
    described: dict[str, Any], content: Any
) -> None:
    obj = {
        "id": "https://peer.example/s/1",
        "type": "Note",
        "attributedTo": ACTOR,
        "name": "Repair café",
        "contentMap": content,
        "service": described,
    }
    try:
        data = parse_service(obj, ACTOR)
    except ParseError:
        return
    assert data.object_uri == obj["id"] and data.name_map
    assert len(data.phone) <= 40 and len(data.address) <= 200
    assert data.website is None or data.website.startswith(("http://", "https://"))
    assert all(isinstance(v, str) for v in data.hours_map.values())
