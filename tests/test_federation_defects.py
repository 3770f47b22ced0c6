"""Issue 10, "other federation defects": each test here proves one of them fixed.

Outbox paging, key refusals (401, not 503), `updated` only after a change, hashtags,
the instance actor's name on any port, "nearby" only through shared follows, private
caching of what is not public, followers counted not listed, NodeInfo, and the one
notion of a local actor.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation import proposals
from federation.signatures import sign_cavage
from node.app import create_app
from node.config import Settings
from node.models import (
    Follow,
    FollowTarget,
    HelpPost,
    LocalActorKind,
    NodeSettings,
    RemotePost,
)
from node.services import follows, local_actors, organisations, posts, remote_follows, responses
from node.services.follows import THIS_NODE
from node.services.remote_posts import linkable_url
from node.taxonomy import CATEGORIES, hashtag
from node.text import camel_hashtag, hashtag_spans, hashtags
from node.timeutil import utcnow
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node, serving
from tests.nodes import free_port
from tests.webclient import browser

AP = {"accept": "application/activity+json"}
# Mastodon's rule for a username (app/models/account.rb, USERNAME_RE).
MASTODON_USERNAME = re.compile(r"\A[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?\Z", re.IGNORECASE)


@pytest.fixture
async def hood(database: str):
    return await factories.neighbourhood("jette-centre", commune="Jette", centre=(50.878, 4.325))


async def _get(node: Node, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return await node.client.get(path.removeprefix(BASE), headers=headers or AP)


# 1. Outboxes link their first page ------------------------------------------------


async def test_outbox_links_its_first_page_and_pages_on(node: Node, hood) -> None:
    greet = await factories.account("greet")
    for index in range(22):
        await factories.post(greet, hood, title=f"Vraag nummer {index}")
    await node.work()
    outbox = (await _get(node, "/@greet/outbox")).json()
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 22
    assert outbox["first"] == f"{BASE}/@greet/outbox?page=1"
    first = (await _get(node, outbox["first"])).json()
    assert first["type"] == "OrderedCollectionPage" and first["partOf"] == outbox["id"]
    assert len(first["orderedItems"]) == 20
    assert {item["type"] for item in first["orderedItems"]} == {"Create"}
    second = (await _get(node, first["next"])).json()
    assert len(second["orderedItems"]) == 2 and "next" not in second
    # The neighbourhood's outbox (and following) can be crawled the same way.
    for box in ("/n/jette-centre/outbox", "/n/jette-centre/following"):
        assert (await _get(node, box)).json()["first"] == f"{BASE}{box}?page=1"


# 2. A key the SSRF guard refuses is a 401 with the reason, not a 503 -------------------


@pytest.fixture
async def strict_node(database: str) -> AsyncIterator[Node]:
    """A node as in production: no loopback or private addresses, no plain http."""
    async with serving(database, allow_private=False) as started:
        yield started


async def _post_with_key(node: Node, remote: FakeRemote, actor: str, key_id: str):
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": actor.rsplit("/users/", 1)[0] + "/activities/1",
        "type": "Follow",
        "actor": actor,
        "object": f"{BASE}/n/jette-centre",
    }
    body = orjson.dumps(activity)
    headers = {"content-type": "application/activity+json"}
    headers |= sign_cavage(
        method="POST",
        url=f"{BASE}/inbox",
        headers=headers,
        body=body,
        key_id=key_id,
        private_key=remote.keys["alice"],
    )
    return await node.client.post("/inbox", content=body, headers=headers)


@pytest.mark.parametrize(
    ("origin", "reason"),
    [
        ("http://127.0.0.1:{port}", "plain http is refused"),  # the real fake remote
        ("https://127.0.0.1:{port}", "is not public"),  # a loopback address
        ("https://10.1.2.3", "is not public"),  # a private address
        ("https://localhost:{port}", "resolves to no public address"),  # a name for loopback
    ],
)
async def test_key_refused_by_the_ssrf_guard_is_401_with_the_reason(
    strict_node: Node, remote: FakeRemote, hood, origin: str, reason: str
) -> None:
    port = remote.base.rsplit(":", 1)[1]
    actor = origin.format(port=port) + "/users/alice"
    response = await _post_with_key(strict_node, remote, actor, actor + "#main-key")
    assert response.status_code == 401
    assert "refused" in response.json()["error"] and reason in response.json()["error"]
    assert remote.fetches == []  # nothing was fetched from there
    assert await Follow.all().count() == 0


async def test_key_host_down_is_still_a_503(node: Node, remote: FakeRemote, hood) -> None:
    actor = f"http://127.0.0.1:{free_port()}/users/alice"  # nothing listens there
    response = await _post_with_key(node, remote, actor, actor + "#main-key")
    assert response.status_code == 503
    # Asked again within the minutes the failure is remembered: still "try later" (a 401
    # would make the sender drop what it sends while its server was only down).
    again = await _post_with_key(node, remote, actor, actor + "#main-key")
    assert again.status_code == 503 and "recently unavailable" in again.json()["error"]
    assert await Follow.all().count() == 0


async def test_a_refused_key_stays_refused_when_asked_again(
    strict_node: Node, remote: FakeRemote, hood
) -> None:
    actor = "https://10.1.2.3/users/alice"
    first = await _post_with_key(strict_node, remote, actor, actor + "#main-key")
    again = await _post_with_key(strict_node, remote, actor, actor + "#main-key")
    assert (first.status_code, again.status_code) == (401, 401)


# 3. `updated` only after a real change ----------------------------------------------


async def test_new_note_has_no_updated_a_changed_one_has(node: Node, hood) -> None:
    greet, sam = await factories.account("greet"), await factories.account("sam")
    post = await factories.post(greet, hood, helpers_needed=1)
    note = (await _get(node, f"/r/{post.id}")).json()
    assert "updated" not in note  # Mastodon would show a new post as edited

    await responses.accept_helper(greet, await responses.offer_help(sam, post))
    matched = (await _get(node, f"/r/{post.id}")).json()
    assert matched["updated"] > matched["published"]  # Mastodon applies the Update

    await posts.change_status(greet, await HelpPost.get(id=post.id), "done")
    done = (await _get(node, f"/r/{post.id}")).json()
    assert done["updated"] > matched["updated"]  # each Update later than the last


async def test_an_edit_after_publication_carries_updated(node: Node, hood) -> None:
    greet = await factories.account("greet")
    post = await factories.post(greet, hood, title="Oude titel")
    an_hour_ago = utcnow() - timedelta(hours=1)
    await HelpPost.filter(id=post.id).update(
        created_at=an_hour_ago, updated_at=an_hour_ago, status_changed_at=an_hour_ago
    )
    assert "updated" not in (await _get(node, f"/r/{post.id}")).json()  # nobody changed it
    edited = factories.draft(hood, title="Nieuwe titel")
    await posts.edit_post(greet, await HelpPost.get(id=post.id), edited)
    note = (await _get(node, f"/r/{post.id}")).json()
    assert note["name"] == "Nieuwe titel" and note["updated"] > note["published"]


def test_edited_at_rule() -> None:
    now = utcnow()
    fresh = HelpPost(created_at=now, updated_at=now + timedelta(microseconds=7), status="open")
    fresh.status_changed_at = now + timedelta(microseconds=3)
    assert proposals.edited_at(fresh) is None
    fresh.status = "matched"
    assert proposals.edited_at(fresh) == now + timedelta(microseconds=7)
    edited = HelpPost(created_at=now, updated_at=now + timedelta(minutes=5), status="open")
    edited.status_changed_at = now
    assert proposals.edited_at(edited) == now + timedelta(minutes=5)


# 4. Hashtags: what the author wrote, and the category in the post's languages ---------


async def test_hashtags_become_tags_and_links_in_each_language(node: Node, hood) -> None:
    greet = await factories.account("greet")
    post = await factories.post(
        greet,
        hood,
        category="meals",
        title="Soep voor #Jette",
        description="Wie kookt mee? #Buurtsoep <b>#vers</b>\nZie https://example.org/#menu",
        translations={"fr": {"title": "Soupe pour #Jette", "description": "#SoupeDuQuartier"}},
    )
    note = (await _get(node, f"/r/{post.id}")).json()
    hood_url = f"{BASE}/n/jette-centre"
    tags = {tag["name"]: tag["href"] for tag in note["tag"] if tag["type"] == "Hashtag"}
    category_href = f"{hood_url}?category=meals"
    assert tags == {
        "#meals": category_href,
        "#Maaltijden": category_href,  # the category in Dutch
        "#Repas": category_href,  # and in French
        "#nabuur": hood_url,
        "#Jette": hood_url,
        "#Buurtsoep": hood_url,
        "#vers": hood_url,
        "#SoupeDuQuartier": hood_url,
    }
    assert "#menu" not in tags  # a URL's fragment is not a hashtag
    dutch, french = note["contentMap"]["nl"], note["contentMap"]["fr"]

    def link(name: str, href: str = hood_url) -> str:
        return f'<a href="{href}" class="mention hashtag" rel="tag">#<span>{name}</span></a>'

    assert link("Buurtsoep") in dutch and link("Jette") in dutch
    assert f"&lt;b&gt;{link('vers')}&lt;/b&gt;" in dutch  # the author's text stays text
    assert link("Maaltijden", category_href) in dutch and "Repas" not in dutch
    assert link("Repas", category_href) in french and link("SoupeDuQuartier") in french
    assert link("meals", category_href) in dutch and link("nabuur") in french
    assert "https://example.org/#menu" in dutch and link("menu") not in dutch


def test_category_hashtags_in_every_language() -> None:
    assert hashtag("shopping", "nl") == "BoodschappenEnKlusjesBuitenshuis"
    assert hashtag("paperwork", "fr") == "DémarchesAdministratives"
    assert hashtag("diy", "en") == "OddJobsAndDIY"
    assert hashtag("other", "nl") is None
    for category in CATEGORIES:
        for lang in ("nl", "fr", "en"):
            tag = hashtag(category.slug, lang)
            assert tag is None or hashtag_spans(f"#{tag}") == [(0, len(tag) + 1, tag)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#Jette en #vélo", ["Jette", "vélo"]),
        ("#jette #JETTE #Jette", ["jette"]),  # one tag whatever the case
        ("https://example.org/#top http://x.be/a#b", []),  # none inside URLs
        ("a#b x=#c y/#d (#e) #123 #a1 #_x", ["e", "a1", "_x"]),
        ("#straße #日本語 #café·bar", ["straße", "日本語", "café·bar"]),
        ("##dubbel #x.", ["dubbel", "x"]),
    ],
)
def test_hashtags_found_in_text(text: str, expected: list[str]) -> None:
    assert hashtags(text) == expected


@given(st.text(max_size=200))
def test_hashtag_spans_are_exactly_what_the_text_says(text: str) -> None:
    for start, end, name in hashtag_spans(text):
        assert text[start:end] == "#" + name
        assert any(c.isalpha() or c == "_" for c in name)


@given(st.from_regex(r"https?://[a-z]{1,10}\.[a-z]{2,3}/[a-z#/]{0,20}", fullmatch=True))
def test_no_hashtag_inside_a_url(url: str) -> None:
    assert hashtag_spans(f"zie {url} nu") == []


def test_camel_hashtag() -> None:
    assert camel_hashtag("Klussen en doe-het-zelf") == "KlussenEnDoeHetZelf"
    assert camel_hashtag("Prêt et emprunt") == "PrêtEtEmprunt"


# 5. The instance actor's name is a valid username on any host and port ----------------


@pytest.mark.parametrize(
    ("base_url", "name"),
    [
        ("https://buren.example.be", "buren.example.be"),  # as it always was
        ("http://127.0.0.1:8123", "127.0.0.1.8123"),
        ("http://localhost:8000", "localhost.8000"),
        ("http://[::1]:8123", "1.8123"),
    ],
)
async def test_instance_actor_username_is_valid_on_any_port(
    database: str, base_url: str, name: str
) -> None:
    settings = Settings(database_url=database, base_url=base_url)
    await factories.node_row()
    app = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        actor = (await client.get("/actor", headers=AP)).json()
        assert actor["preferredUsername"] == name and MASTODON_USERNAME.match(name)
        for handle in (name, settings.domain):  # the new name, and the domain as before
            resource = f"acct:{handle}@{settings.domain}"
            jrd = (await client.get("/.well-known/webfinger", params={"resource": resource})).json()
            assert jrd["subject"] == f"acct:{name}@{settings.domain}"
            assert jrd["links"][0]["href"] == f"{base_url}/actor"
    await app.state.federation.close()


# 6. "Nearby" shows posts that reach the node through shared follows only --------------


def _proposal(remote: FakeRemote, name: str, key: str, title: str, **extra: Any) -> dict:
    return {
        "id": remote.object_url(key),
        "type": "Note",
        "attributedTo": remote.actor_url(name),
        "name": title,
        "content": f"<p>{title}</p>",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "purpose": "request",
        "location": {"type": "Place", "name": "Laeken", "latitude": 50.88, "longitude": 4.35},
        "publishes": {"type": "Intent", "resourceQuantity": 1, "availableQuantity": 1},
        "published": "2026-11-20T10:00:00Z",
        **extra,
    }


async def _followed_by(node: Node, remote: FakeRemote, local, name: str) -> None:
    await remote_follows.request_follow(local, remote.actor_url(name))
    await node.work()
    follow = next(r.json for r in reversed(remote.received) if r.json["type"] == "Follow")
    await node.post_activity(remote, name, remote.activity(name, "Accept", follow))
    await node.work()


async def test_nearby_only_through_the_node_a_neighbourhood_or_an_organisation(
    node: Node, remote: FakeRemote, hood
) -> None:
    resident = await factories.account("marleen")
    org = await factories.organisation("tussen-buren")
    for name, index in (("carol", 2), ("dave", 3)):
        remote.add_actor(name, index)
    await _followed_by(node, remote, None, "alice")  # the node
    await _followed_by(node, remote, resident, "bob")  # one resident (authorize_interaction)
    await _followed_by(node, remote, hood, "carol")  # a neighbourhood
    await _followed_by(node, remote, org, "dave")  # an organisation
    titles = {"alice": "Hulp van Alice", "bob": "Vijandig van Bob", "carol": "Hulp van Carol"}
    titles["dave"] = "Hulp van Dave"
    for name, title in titles.items():
        note = _proposal(remote, name, f"p-{name}", title)
        await node.post_activity(remote, name, remote.activity(name, "Create", note))
    await node.work()
    assert await RemotePost.all().count() == 4  # bob's is kept, for his follower only
    for page in ("/", "/n/jette-centre"):
        html = (await node.client.get(page, headers={"accept-language": "en"})).text
        for name in ("alice", "carol", "dave"):
            assert titles[name] in html
        assert titles["bob"] not in html


async def test_nearby_links_only_to_the_posts_own_host(
    node: Node, remote: FakeRemote, hood
) -> None:
    await _followed_by(node, remote, None, "alice")
    note = _proposal(remote, "alice", "p-url", "Hulp met een vreemde link")
    note["url"] = "https://evil.example/phish"
    await node.post_activity(remote, "alice", remote.activity("alice", "Create", note))
    await node.work()
    assert (await RemotePost.get(object_uri=note["id"])).url == note["id"]
    # A copy stored before the check is not linked to another host either.
    await RemotePost.filter(object_uri=note["id"]).update(url="https://evil.example/phish")
    html = (await node.client.get("/", headers={"accept-language": "en"})).text
    assert "Hulp met een vreemde link" in html and "evil.example" not in html
    assert f'href="{note["id"]}"' in html


def test_linkable_url() -> None:
    actor = "https://a.example/users/x"
    assert linkable_url("https://a.example/@x/1", "https://a.example/o/1", actor).endswith("/@x/1")
    assert linkable_url("https://b.example/1", "https://a.example/o/1", actor).endswith("/o/1")
    assert linkable_url("https://b.example/1", "https://b.example/o/1", actor) is None
    assert linkable_url(None, "https://A.example/o/1", actor) == "https://A.example/o/1"


# 7. What is not public is never kept by a shared cache ---------------------------------


async def test_followers_only_note_is_private_and_public_one_is_not(
    node: Node, remote: FakeRemote, hood
) -> None:
    greet = await factories.account("greet")
    public = await factories.post(greet, hood)
    private = await factories.post(greet, hood, visibility="followers")
    await node.post_activity(remote, "alice", remote.activity("alice", "Follow", f"{BASE}/@greet"))
    await node.work()
    url = f"{BASE}/r/{private.id}"
    shown = await _get(node, url, remote.signed_get_headers("alice", url))
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "private, no-store"
    assert "accept" in shown.headers["vary"].lower()
    open_note = await _get(node, f"/r/{public.id}")
    assert (
        "cache-control" not in open_note.headers and "accept" in open_note.headers["vary"].lower()
    )
    # Whoever may not see it gets the same 404 as for a post that does not exist.
    hidden = await _get(node, url)
    missing = await _get(node, "/r/00000000-0000-0000-0000-000000000000")
    assert (hidden.status_code, dict(hidden.headers)) == (404, dict(missing.headers))


async def test_html_page_of_a_post_that_is_not_public_is_private(database: str, hood) -> None:
    greet = await factories.account("greet")
    followers_only = await factories.post(greet, hood, visibility="followers")
    members_only = await factories.post(greet, hood, visibility="members")
    public = await factories.post(greet, hood)
    await factories.node_row()
    async with browser(database) as web:
        await web.log_in_as(greet)
        for post in (followers_only, members_only):
            page = await web.get(f"/r/{post.id}", headers={"accept": "text/html"})
            assert page.status_code == 200 and page.headers["cache-control"] == "private, no-store"
            assert "accept" in page.headers["vary"].lower()  # the same URL serves JSON
        page = await web.get(f"/r/{public.id}", headers={"accept": "text/html"})
        assert page.headers["cache-control"] == "private, no-cache"


# 8. Followers are counted, never listed -----------------------------------------------


async def test_followers_of_an_organisation_are_counted_not_listed(
    node: Node, remote: FakeRemote, hood
) -> None:
    org = await factories.organisation("sociaal-huis")
    org.manually_approves_followers = False  # counted here, not approved
    await org.save(update_fields=["manually_approves_followers"])
    greet = await factories.account("greet")
    residents = [await factories.account(f"client{i}") for i in range(3)]
    for resident in residents:
        await follows.follow(resident, org)
        await follows.follow(resident, greet)
    await node.post_activity(
        remote, "alice", remote.activity("alice", "Follow", f"{BASE}/o/sociaal-huis")
    )
    await node.work()
    for path, total in (
        ("/o/sociaal-huis/followers", 4),
        ("/o/sociaal-huis/followers?page=1", 4),
        ("/@greet/followers?page=1", 3),
        ("/n/jette-centre/followers", 0),
        ("/actor/followers?page=1", 0),
    ):
        response = await _get(node, path)
        collection = response.json()
        assert collection["totalItems"] == total and set(collection) == {
            "@context",
            "id",
            "type",
            "totalItems",
        }
        assert "client" not in response.text and remote.base not in response.text
    # Whom a resident follows elsewhere is counted too; the node's partners are listed.
    await _followed_by(node, remote, residents[0], "bob")
    assert "first" not in (await _get(node, "/@client0/following")).json()
    await _followed_by(node, remote, None, "alice")
    page = (await _get(node, "/actor/following?page=1")).json()
    assert page["orderedItems"] == [remote.actor_url("alice")]


# 9. NodeInfo: public posts only, and the real sign-up policy ----------------------------


async def test_nodeinfo_counts_public_posts_and_tells_the_signup_policy(node: Node, hood) -> None:
    greet = await factories.account("greet")
    await factories.post(greet, hood)
    await factories.post(greet, hood, visibility="followers")
    await factories.post(greet, hood, visibility="members")
    hidden = await factories.post(greet, hood)
    await HelpPost.filter(id=hidden.id).update(hidden_at=utcnow(), hidden_reason="spam")
    for signups, open_registrations in (("open", True), ("invitation", False), ("closed", False)):
        await NodeSettings.filter(id=1).update(signups=signups)
        info = (await node.client.get("/nodeinfo/2.1")).json()
        assert info["usage"]["localPosts"] == 1
        assert info["openRegistrations"] is open_registrations


# 10. One notion of a local actor --------------------------------------------------------


def test_follow_target_and_local_actor_kind_are_one_enum() -> None:
    assert FollowTarget is LocalActorKind
    assert {k.value for k in LocalActorKind} == {
        "instance",
        "account",
        "organisation",
        "neighbourhood",
    }


async def test_local_actors_from_reference_handle_and_url(node: Node, hood) -> None:
    settings = node.settings
    greet = await factories.account("greet")
    org = await factories.organisation("tussen-buren")
    await organisations.add_staff(org, greet)
    for actor, name, path in (
        (greet, "greet", "/@greet"),
        (hood, "jette-centre", "/n/jette-centre"),
        (org, "tussen-buren", "/o/tussen-buren"),
        (THIS_NODE, "nabuur.test", "/actor"),
    ):
        kind, key = local_actors.ref(actor)
        loaded = await local_actors.load(kind, key)
        assert local_actors.path(loaded) == path
        assert local_actors.handle(settings, actor) == f"@{name}@nabuur.test"
        for text in (f"{name}@nabuur.test", f"@{name}@NABUUR.test", f"acct:{name}@nabuur.test"):
            assert local_actors.path(await local_actors.by_handle(settings, text)) == path
        found = await local_actors.by_resource(settings, BASE + path)
        assert found is not None and local_actors.path(found) == path
    for nothing in ("greet@elsewhere.example", "nobody@nabuur.test", "@nabuur.test", ""):
        assert await local_actors.by_handle(settings, nothing) is None
    for url in (f"{BASE}/r/{'0' * 8}", f"{BASE}/@greet/outbox", "https://x.example/@greet", 7):
        assert await local_actors.by_url(settings, url) is None
    # The CLI's --as: @username for a resident; a slug for a neighbourhood or organisation.
    from node.cli_federation import _local_actor

    assert await _local_actor(settings, "@GREET") == greet
    assert await _local_actor(settings, "jette-centre") == hood
    assert await _local_actor(settings, None) is None
