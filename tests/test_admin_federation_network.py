"""/admin/federation/network: partner nodes and relays, as an admin uses them.

Following a partner by URL, by handle or by a node's domain, as the node, a
neighbourhood or an organisation; every address that cannot be followed answered with
a 4xx and nothing stored; unfollowing; relays by inbox or actor URL; the servers that
follow ours; and neighbourhoods that approve followers: the Follow stays pending, the
Group says so, and the admin's decision sends an Accept or a Reject that the follower's
server receives. On SQLite and PostgreSQL, with a fake remote server on loopback.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.models import (
    AuditEntry,
    DomainPolicy,
    Event,
    Follow,
    Neighbourhood,
    Notification,
    NotificationKind,
    Organisation,
    OutgoingFollow,
    Role,
)
from node.services import domain_policy, sessions
from node.states import FollowStatus
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node
from web.shell.session import SESSION_COOKIE

PAGE = "/admin/federation/network"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@dataclass
class Finger:
    """A WebFinger server on loopback: `accounts` maps acct: URIs to JRD documents."""

    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    host: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> Finger:
        app = web.Application()
        app.router.add_get("/.well-known/webfinger", self._webfinger)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.host = f"127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    def add(self, user: str, href: str) -> str:
        acct = f"acct:{user}@{self.host}"
        link = {"rel": "self", "type": "application/activity+json", "href": href}
        self.accounts[acct] = {"subject": acct, "links": [link]}
        return f"@{user}@{self.host}"

    async def _webfinger(self, request: web.Request) -> web.Response:
        document = self.accounts.get(request.query.get("resource", ""))
        return web.Response(
            status=200 if document else 404,
            body=orjson.dumps(document or {}),
            content_type="application/jrd+json",
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def finger() -> AsyncIterator[Finger]:
    server = await Finger().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def admin(node: Node, remote: FakeRemote) -> Node:
    """The node with a neighbourhood, an organisation and a logged-in admin; the remote
    has a Group (a partner's neighbourhood) and a relay besides its two people."""
    await factories.neighbourhood("jette-centre")
    await factories.organisation("buurthuis")
    account = await factories.account("els", role=Role.ADMIN, languages=["en"])
    node.client.cookies.set(SESSION_COOKIE, await sessions.start_session(account))
    node.client.headers["accept-language"] = "en"
    remote.add_actor("centrum", 2, actor_type="Group")
    remote.add_actor("relay", 3, actor_type="Application")
    return node


async def post(node: Node, path: str, **fields: str) -> Any:
    page = await node.client.get(PAGE)
    token = TOKEN.search(page.text)
    assert token, page.status_code
    return await node.client.post(path, data={**fields, "csrf_token": token.group(1)})


async def nothing_stored() -> None:
    assert (
        await Event.filter(kind__in=["RemoteFollowRequested", "RemoteUnfollowRequested"]).count()
        == 0
    )
    assert await OutgoingFollow.all().count() == 0
    assert await AuditEntry.filter(action__startswith="federation.").count() == 0
    assert await AuditEntry.filter(action__startswith="relay.").count() == 0


def received(remote: FakeRemote, kind: str) -> list[dict[str, Any]]:
    return [r.json for r in remote.received if r.json.get("type") == kind]


# --- following partners ----------------------------------------------------------------


async def test_a_neighbourhood_follows_a_partner_group_by_url(
    admin: Node, remote: FakeRemote
) -> None:
    group = remote.actor_url("centrum")
    response = await post(admin, PAGE + "/follow", address=group, as_actor="n:jette-centre")
    assert response.status_code == 303
    assert response.headers["location"] == PAGE + "?done=follow"
    entry = await AuditEntry.get(action="federation.follow_requested")
    assert entry.detail == {"uri": group, "as": "n:jette-centre"}
    await admin.work()
    [follow] = received(remote, "Follow")
    assert follow["actor"] == BASE + "/n/jette-centre" and follow["object"] == group
    page = await admin.client.get(PAGE)
    assert "Centrum" in page.text and "waiting for an answer" in page.text
    # The partner accepts: the page says so.
    accept = remote.activity("centrum", "Accept", follow)
    assert (await admin.post_activity(remote, "centrum", accept)).status_code == 202
    await admin.work()
    assert (await OutgoingFollow.get()).status == FollowStatus.ACCEPTED
    assert ">accepted<" in (await admin.client.get(PAGE)).text
    # Asking again is answered on the page; nothing more goes out.
    again = await post(admin, PAGE + "/follow", address=group, as_actor="n:jette-centre")
    assert again.status_code == 400 and "followed already" in again.text
    await admin.work()
    assert len(received(remote, "Follow")) == 1


async def test_the_node_follows_by_handle_and_an_organisation_by_domain(
    admin: Node, remote: FakeRemote, finger: Finger
) -> None:
    handle = finger.add("centrum", remote.actor_url("centrum"))
    response = await post(admin, PAGE + "/follow", address=handle, as_actor="node")
    assert response.status_code == 303
    finger.add("127.0.0.1", remote.actor_url("relay"))  # a whole node: its instance actor
    response = await post(admin, PAGE + "/follow", address=finger.host, as_actor="o:buurthuis")
    assert response.status_code == 303
    await admin.work()
    follows = {f["object"]: f["actor"] for f in received(remote, "Follow")}
    assert follows == {
        remote.actor_url("centrum"): BASE + "/actor",
        remote.actor_url("relay"): BASE + "/o/buurthuis",
    }


@pytest.mark.parametrize(
    ("address", "as_actor", "status", "message"),
    [
        ("", "node", 400, "Give an address"),
        ("   ", "node", 400, "Give an address"),
        ("not an address", "node", 400, "This is not an address"),
        ("@a@@b", "node", 400, "This is not an address"),
        ("x" * 600, "node", 400, "This is not an address"),
        ("@jette-centre@nabuur.test", "node", 400, "on this node"),
        (BASE + "/n/jette-centre", "node", 400, "on this node"),
        ("nabuur.test", "node", 400, "on this node"),
        ("alice", "node", 400, "a person&#39;s account"),
        ("nobody", "node", 404, "does not know this address"),
        ("blocked", "node", 400, "does not exchange messages"),
        ("group", "", 400, "Choose who follows"),
        ("group", "n:no-such-hood", 400, "Choose who follows"),
        ("group", "o:", 400, "Choose who follows"),
        ("group", "x:jette-centre", 400, "Choose who follows"),
    ],
)
async def test_what_cannot_be_followed_is_explained_and_nothing_is_stored(
    admin: Node, remote: FakeRemote, address: str, as_actor: str, status: int, message: str
) -> None:
    if address == "blocked":
        await domain_policy.set_domain_policy(remote.base.split("//")[1], DomainPolicy.SUSPEND)
    address = {
        "alice": remote.actor_url("alice"),
        "nobody": remote.actor_url("nobody"),
        "blocked": remote.actor_url("centrum"),
        "group": remote.actor_url("centrum"),
    }.get(address, address)
    response = await post(admin, PAGE + "/follow", address=address, as_actor=as_actor)
    assert response.status_code == status
    assert message in response.text
    assert 'aria-invalid="true"' in response.text  # next to the field it is about
    await nothing_stored()


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(as_actor=st.text(max_size=60), address=st.text(max_size=80))
async def test_any_bad_choice_of_follower_is_a_400_and_stores_nothing(
    admin: Node, as_actor: str, address: str
) -> None:
    """Who follows is checked before any look-up: no address is ever fetched for it."""
    if as_actor in ("node", "n:jette-centre", "o:buurthuis"):
        as_actor += "!"
    response = await post(admin, PAGE + "/follow", address=address, as_actor=as_actor)
    assert response.status_code == 400
    await nothing_stored()


async def test_unfollowing_a_partner_sends_an_undo(admin: Node, remote: FakeRemote) -> None:
    group = remote.actor_url("centrum")
    await post(admin, PAGE + "/follow", address=group, as_actor="o:buurthuis")
    await admin.work()
    row = await OutgoingFollow.get()
    response = await post(admin, PAGE + "/unfollow", follow=str(row.id))
    assert response.status_code == 303
    await admin.work()
    [undo] = received(remote, "Undo")
    assert undo["actor"] == BASE + "/o/buurthuis" and undo["object"]["id"] == row.activity_uri
    assert await OutgoingFollow.all().count() == 0
    assert await AuditEntry.exists(action="federation.unfollow_requested")
    for bad in ("", "abc", "9" * 20):
        assert (await post(admin, PAGE + "/unfollow", follow=bad)).status_code == 400
    assert (await post(admin, PAGE + "/unfollow", follow="424242")).status_code == 404
    assert await Event.filter(kind="RemoteUnfollowRequested").count() == 1


# --- relays ---------------------------------------------------------------------------


async def test_a_relay_is_subscribed_by_its_inbox_and_left(admin: Node, remote: FakeRemote) -> None:
    inbox = remote.actor_url("relay") + "/inbox"
    response = await post(admin, PAGE + "/relays", relay_address=inbox)
    assert response.status_code == 303
    await admin.work()
    [follow] = received(remote, "Follow")
    assert follow["actor"] == BASE + "/actor" and follow["object"] == PUBLIC
    row = await OutgoingFollow.get()
    assert row.is_relay and row.status == FollowStatus.PENDING
    page = await admin.client.get(PAGE)
    assert remote.actor_url("relay") in page.text
    response = await post(admin, PAGE + "/unfollow", follow=str(row.id), relay="yes")
    assert response.status_code == 303
    await admin.work()
    assert received(remote, "Undo") and await OutgoingFollow.all().count() == 0
    actions = set(await AuditEntry.all().values_list("action", flat=True))
    assert {"relay.subscribed", "relay.unsubscribed"} <= actions


@pytest.mark.parametrize("address", ["", "relay.example", "@relay@relay.example", "missing"])
async def test_a_relay_address_that_is_not_one_stores_nothing(
    admin: Node, remote: FakeRemote, address: str
) -> None:
    address = remote.actor_url("nobody") + "/inbox" if address == "missing" else address
    response = await post(admin, PAGE + "/relays", relay_address=address)
    assert response.status_code in (400, 404)
    assert 'id="relay_address-error"' in response.text
    await nothing_stored()


# --- who follows us, and approving followers -----------------------------------------


async def _follow_from(node: Node, remote: FakeRemote, name: str, target: str) -> str:
    activity = remote.activity(name, "Follow", BASE + target)
    assert (await node.post_activity(remote, name, activity)).status_code == 202
    await node.work()
    return activity["id"]


async def test_followers_are_counted_by_server(admin: Node, remote: FakeRemote) -> None:
    # Organisations approve followers by default; this one accepts everyone.
    await Organisation.filter(slug="buurthuis").update(manually_approves_followers=False)
    await _follow_from(admin, remote, "alice", "/n/jette-centre")
    await _follow_from(admin, remote, "bob", "/o/buurthuis")
    page = await admin.client.get(PAGE)
    domain = remote.base.split("//")[1]
    assert f"<strong>{domain}</strong>: 2 followers" in page.text
    assert "@alice@" in page.text and "@bob@" in page.text


async def test_a_neighbourhood_that_approves_followers_waits_for_the_admin(
    admin: Node, remote: FakeRemote
) -> None:
    await Neighbourhood.filter(slug="jette-centre").update(manually_approves_followers=True)
    group = await admin.client.get(
        "/n/jette-centre", headers={"accept": "application/activity+json"}
    )
    assert group.json()["manuallyApprovesFollowers"] is True
    alice = await _follow_from(admin, remote, "alice", "/n/jette-centre")
    bob = await _follow_from(admin, remote, "bob", "/n/jette-centre")
    assert received(remote, "Accept") == [] and received(remote, "Reject") == []
    assert await Follow.filter(status=FollowStatus.PENDING).count() == 2
    page = await admin.client.get(PAGE)
    assert "Followers waiting for approval" in page.text and "@alice@" in page.text
    # The node's admins are told that someone waits (their notifications link here).
    asks = await Notification.filter(kind=NotificationKind.FOLLOW_REQUEST).values_list(
        "note", flat=True
    )
    assert len(asks) == 2 and all("Jette" in note for note in asks), asks
    told = await admin.client.get("/notifications")
    assert "/admin/federation/network" in told.text and "@alice@" in told.text

    rows = {r.activity_uri: r for r in await Follow.all()}
    ok = await post(admin, PAGE + "/followers", follow=str(rows[alice].id), decision="accept")
    no = await post(admin, PAGE + "/followers", follow=str(rows[bob].id), decision="reject")
    assert ok.headers["location"] == PAGE + "?done=accepted"
    assert no.headers["location"] == PAGE + "?done=rejected"
    await admin.work()
    [accept] = received(remote, "Accept")
    [reject] = received(remote, "Reject")
    assert accept["actor"] == reject["actor"] == BASE + "/n/jette-centre"
    assert accept["object"]["id"] == alice and reject["object"]["id"] == bob
    statuses = {r.activity_uri: r.status for r in await Follow.all()}
    assert statuses == {alice: FollowStatus.ACCEPTED, bob: FollowStatus.REJECTED}
    actions = await AuditEntry.filter(action__startswith="federation.").values_list(
        "action", flat=True
    )
    assert sorted(actions) == ["federation.follower_accepted", "federation.follower_rejected"]

    # A second click changes nothing and sends nothing.
    again = await post(admin, PAGE + "/followers", follow=str(rows[alice].id), decision="reject")
    assert again.headers["location"] == PAGE + "?done=decided"
    await admin.work()
    assert len(received(remote, "Accept")) == 1 and len(received(remote, "Reject")) == 1
    for bad in ({"follow": "x", "decision": "accept"}, {"follow": "1", "decision": "maybe"}):
        assert (await post(admin, PAGE + "/followers", **bad)).status_code == 400
    # Refused, Bob may ask again: the request waits anew.
    await _follow_from(admin, remote, "bob", "/n/jette-centre")
    assert await Follow.filter(status=FollowStatus.PENDING).count() == 1


async def test_other_targets_still_accept_at_once(admin: Node, remote: FakeRemote) -> None:
    await Organisation.filter(slug="buurthuis").update(manually_approves_followers=False)
    await _follow_from(admin, remote, "alice", "/n/jette-centre")
    await _follow_from(admin, remote, "bob", "/o/buurthuis")
    assert len(received(remote, "Accept")) == 2
    group = await admin.client.get(
        "/n/jette-centre", headers={"accept": "application/activity+json"}
    )
    assert group.json()["manuallyApprovesFollowers"] is False


async def test_the_edit_page_sets_approval_and_unlocking_accepts_who_waits(
    admin: Node, remote: FakeRemote
) -> None:
    path = "/admin/neighbourhoods/jette-centre"
    form = {
        "name": "Jette Centre",
        "country": "BE",
        "area_kind": "circle",
        "centre": "50.878, 4.325",
        "radius_m": "800",
    }
    page = await admin.client.get(path)
    assert 'name="manually_approves_followers"' in page.text
    token = TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
    locked = {**form, "manually_approves_followers": "yes", "csrf_token": token}
    assert (await admin.client.post(path, data=locked)).status_code == 303
    assert (await Neighbourhood.get(slug="jette-centre")).manually_approves_followers
    assert " checked> Approve followers" in (await admin.client.get(path)).text
    await _follow_from(admin, remote, "alice", "/n/jette-centre")
    assert received(remote, "Accept") == []
    unlocked = {**form, "csrf_token": token}
    assert (await admin.client.post(path, data=unlocked)).status_code == 303
    assert not (await Neighbourhood.get(slug="jette-centre")).manually_approves_followers
    await admin.work()
    assert len(received(remote, "Accept")) == 1
    assert (await Follow.get()).status == FollowStatus.ACCEPTED


async def test_nothing_here_waits_on_the_network(admin: Node) -> None:
    """The page itself makes no request to another server (it only reads the database)."""
    async with asyncio.timeout(5):
        page = await admin.client.get(PAGE)
    assert page.status_code == 200
    assert "This node follows no partner yet." in page.text
    assert "Partner nodes and relays" in page.text and 'aria-current="page"' in page.text
