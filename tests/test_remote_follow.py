"""Remote follow: from a visitor's fediverse address to their server, and back to ours.

The form on actor and post pages looks up the visitor's server by WebFinger and sends
them to its subscribe template; our own `/authorize_interaction` lets residents follow
remote actors. The last test runs the whole round trip between two real nodes.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from aiohttp import web

from federation import lookup
from federation.lookup import Handle, fill_template, parse_handle
from node.app import create_app
from node.config import Settings
from node.models import DomainPolicy, Event
from node.services import domain_policy, sessions
from tests import factories
from tests.fakeremote import FakeRemote
from tests.federation_fixtures import BASE, Node
from tests.nodes import eventually, free_port, get_json, running_nodes
from web.shell.session import SESSION_COOKIE

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBSCRIBE = "http://ostatus.org/schema/1.0/subscribe"
GROUP = BASE + "/n/jette-centre"


# --- handles -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "user", "host"),
    [
        ("@anna@mastodon.social", "anna", "mastodon.social"),
        ("anna@mastodon.social", "anna", "mastodon.social"),
        ("  @Anna_B@Mastodon.Social  ", "Anna_B", "mastodon.social"),
        ("acct:anna@example.org", "anna", "example.org"),
        ("@marleen@127.0.0.1:8000", "marleen", "127.0.0.1:8000"),
        ("@jan.de-vries@buren.example.nl", "jan.de-vries", "buren.example.nl"),
        ("@anna@bücher.example", "anna", "xn--bcher-kva.example"),
    ],
)
def test_good_handles(text: str, user: str, host: str) -> None:
    assert parse_handle(text) == Handle(user, host)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "anna",
        "@anna",
        "anna@",
        "@anna@",
        "@@anna@mastodon.social",
        "@anna@@mastodon.social",
        "@a@b@mastodon.social",
        "https://mastodon.social/@anna",
        "mastodon.social/@anna",
        "anna@mastodon social",
        "anna@mastodon.social/path",
        "anna@-bad-.example",
        "anna@host:0",
        "anna@host:99999",
        "<script>@x.example",
        "änna@example.org",
        "anna@[::1]",
    ],
)
def test_bad_handles(text: str) -> None:
    assert parse_handle(text) is None


def test_the_template_gets_the_url_encoded_uri() -> None:
    filled = fill_template("https://m.example/authorize_interaction?uri={uri}", GROUP)
    assert (
        filled
        == "https://m.example/authorize_interaction?uri=http%3A%2F%2Fnabuur.test%2Fn%2Fjette-centre"
    )


# --- a visitor's server, as far as WebFinger goes ----------------------------------------


@dataclass
class Finger:
    """A WebFinger server on loopback: `accounts` maps acct: URIs to (status, document)."""

    accounts: dict[str, tuple[int, Any]] = field(default_factory=dict)
    delay: float = 0.0
    asked: list[str] = field(default_factory=list)
    base: str = ""
    host: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> Finger:
        app = web.Application()
        app.router.add_get("/.well-known/webfinger", self._webfinger)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.host = f"127.0.0.1:{port}"
        self.base = f"http://{self.host}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def add(self, user: str, *, template: str | None = "", self_href: str = "") -> str:
        links: list[dict[str, str]] = []
        if template is not None:
            links.append({"rel": SUBSCRIBE, "template": template or self.template})
        if self_href:
            links.append({"rel": "self", "type": "application/activity+json", "href": self_href})
        acct = f"acct:{user}@{self.host}"
        self.accounts[acct] = (200, {"subject": acct, "links": links})
        return f"@{user}@{self.host}"

    @property
    def template(self) -> str:
        return self.base + "/authorize_interaction?uri={uri}"

    async def _webfinger(self, request: web.Request) -> web.Response:
        resource = request.query.get("resource", "")
        self.asked.append(resource)
        if self.delay:
            await asyncio.sleep(self.delay)
        status, document = self.accounts.get(resource, (404, {"error": "not found"}))
        return web.Response(
            status=status, body=orjson.dumps(document), content_type="application/jrd+json"
        )


@pytest.fixture
async def finger() -> AsyncIterator[Finger]:
    server = await Finger().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def places(node: Node) -> dict[str, Any]:
    """A neighbourhood, an organisation, a resident and a public request of hers."""
    marleen = await factories.account("marleen", languages=["en"])
    hood = await factories.neighbourhood("jette-centre")
    org = await factories.organisation("buurthuis")
    post = await factories.post(marleen, hood, title="Haag snoeien")
    return {"marleen": marleen, "hood": hood, "org": org, "post": post}


async def _token(client: httpx.AsyncClient, page: str) -> str:
    response = await client.get(page)
    found = TOKEN.search(response.text)
    assert found, f"no form on {page} ({response.status_code})"
    return found.group(1)


async def _remote_follow(
    node: Node, handle: str, target: str = "/n/jette-centre", **headers: str
) -> httpx.Response:
    token = await _token(node.client, target)
    form = {"csrf_token": token, "target": target, "handle": handle}
    return await node.client.post("/remote-follow", data=form, headers=headers)


async def _log_in(node: Node, account: Any) -> None:
    node.client.cookies.set(SESSION_COOKIE, await sessions.start_session(account))


# --- the form on our pages -------------------------------------------------------------


@pytest.mark.parametrize("page", ["/n/jette-centre", "/o/buurthuis", "/@marleen"])
async def test_actor_pages_carry_the_form(node: Node, places: dict, page: str) -> None:
    response = await node.client.get(page, headers={"accept-language": "en"})
    assert response.status_code == 200
    assert 'action="/remote-follow"' in response.text
    assert f'name="target" value="{page}"' in response.text
    assert "Your fediverse address" in response.text
    # Browsers check form-action on the redirect too: it must let the visitor's server in.
    assert "form-action 'self' https:" in response.headers["content-security-policy"]


async def test_the_request_page_offers_answering_to_visitors_only(node: Node, places: dict) -> None:
    page = f"/r/{places['post'].id}"
    visitor = await node.client.get(page, headers={"accept-language": "en"})
    assert "Answer from your fediverse account" in visitor.text
    assert f'name="target" value="{page}"' in visitor.text
    await _log_in(node, places["marleen"])
    resident = await node.client.get(page, headers={"accept-language": "en"})
    assert resident.status_code == 200
    assert 'action="/remote-follow"' not in resident.text
    assert "form-action 'self';" in resident.headers["content-security-policy"]


async def test_a_good_handle_goes_to_the_visitors_server(
    node: Node, places: dict, finger: Finger
) -> None:
    handle = finger.add("anna")
    response = await _remote_follow(node, handle)
    assert response.status_code == 303
    assert response.headers["location"] == (
        finger.base + "/authorize_interaction?uri=" + quote(GROUP, safe="")
    )
    assert finger.asked == [f"acct:anna@{finger.host}"]


async def test_answering_a_post_sends_its_url(node: Node, places: dict, finger: Finger) -> None:
    handle = finger.add("anna", template=finger.base + "/interact?u={uri}&x=1")
    path = f"/r/{places['post'].id}"
    response = await _remote_follow(node, handle.lstrip("@"), target=path)
    assert response.status_code == 303
    assert response.headers["location"] == (
        f"{finger.base}/interact?u={quote(BASE + path, safe='')}&x=1"
    )


async def test_our_own_address_stays_here(node: Node, places: dict) -> None:
    response = await _remote_follow(node, "@marleen@nabuur.test")
    assert response.status_code == 303
    assert response.headers["location"] == (
        BASE + "/authorize_interaction?uri=" + quote(GROUP, safe="")
    )


async def test_the_form_needs_its_csrf_token(node: Node, places: dict, finger: Finger) -> None:
    handle = finger.add("anna")
    form = {"target": "/n/jette-centre", "handle": handle}
    missing = await node.client.post("/remote-follow", data=form)
    assert missing.status_code == 403
    await node.client.get("/n/jette-centre")  # the seed cookie, but a forged token
    forged = await node.client.post("/remote-follow", data={**form, "csrf_token": "x" * 43})
    assert forged.status_code == 403
    assert finger.asked == []


@pytest.mark.parametrize("handle", ["anna", "https://mastodon.social/@anna", "@anna@", "a b@c.d"])
async def test_a_malformed_handle_gets_the_form_again(
    node: Node, places: dict, handle: str
) -> None:
    response = await _remote_follow(node, handle, **{"accept-language": "en"})
    assert response.status_code == 400
    assert "Enter your fediverse address as @name@server" in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'name="target" value="/n/jette-centre"' in response.text


async def test_an_unknown_account(node: Node, places: dict, finger: Finger) -> None:
    response = await _remote_follow(node, f"@nobody@{finger.host}", **{"accept-language": "en"})
    assert response.status_code == 404
    assert "Your server does not know this account" in response.text


async def test_a_server_without_remote_follow(node: Node, places: dict, finger: Finger) -> None:
    handle = finger.add("anna", template=None)
    response = await _remote_follow(node, handle, **{"accept-language": "en"})
    assert response.status_code == 400
    assert "Your server does not offer this" in response.text
    assert "@jette-centre@nabuur.test" in response.text  # what to search for instead


@pytest.mark.parametrize(
    "template", ["javascript:alert(1)//{uri}", "/relative?uri={uri}", "ftp://x.example/{uri}"]
)
async def test_an_unusable_template_is_not_followed(
    node: Node, places: dict, finger: Finger, template: str
) -> None:
    handle = finger.add("anna", template=template)
    response = await _remote_follow(node, handle, **{"accept-language": "en"})
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_an_unreachable_server(node: Node, places: dict) -> None:
    handle = f"@anna@127.0.0.1:{free_port()}"  # nothing listens there
    response = await _remote_follow(node, handle, **{"accept-language": "en"})
    assert response.status_code == 400
    assert "Your server could not be reached" in response.text


async def test_a_slow_server_times_out(
    node: Node, places: dict, finger: Finger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lookup, "LOOKUP_SECONDS", 0.3)
    finger.delay = 2.0
    handle = finger.add("anna")
    response = await _remote_follow(node, handle, **{"accept-language": "en"})
    assert response.status_code == 400
    assert "Your server took too long to answer" in response.text


async def test_a_blocked_server_is_not_asked(node: Node, places: dict, finger: Finger) -> None:
    handle = finger.add("anna")
    await domain_policy.set_domain_policy(finger.host, DomainPolicy.SUSPEND)
    node.fed.domain_verdicts.clear()
    response = await _remote_follow(node, handle, **{"accept-language": "en"})
    assert response.status_code == 400
    assert "does not exchange messages with that server" in response.text
    assert finger.asked == []


async def test_private_addresses_are_refused_in_production(database: str) -> None:
    await factories.node_row()
    await factories.neighbourhood("jette-centre")
    app = create_app(Settings(database_url=database, base_url=BASE), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            response = await _remote_follow(
                Node(app.state.settings, client, app.state.federation),
                "@anna@127.0.0.1",
                **{"accept-language": "en"},
            )
    finally:
        await app.state.federation.close()
    assert response.status_code == 400
    assert "cannot be contacted from this node" in response.text


@pytest.mark.parametrize(
    "target", ["/n/nowhere", "/admin", "https://elsewhere.example/n/x", "//evil.example/n/x", ""]
)
async def test_the_target_must_be_ours(
    node: Node, places: dict, finger: Finger, target: str
) -> None:
    token = await _token(node.client, "/n/jette-centre")
    form = {"csrf_token": token, "target": target, "handle": finger.add("anna")}
    response = await node.client.post("/remote-follow", data=form)
    assert response.status_code == 404
    assert finger.asked == []


async def test_the_form_has_a_page_of_its_own(node: Node, places: dict) -> None:
    response = await node.client.get(
        "/remote-follow", params={"target": "/o/buurthuis"}, headers={"accept-language": "en"}
    )
    assert response.status_code == 200
    assert "Follow Buurthuis from your fediverse account" in response.text


# --- /authorize_interaction ------------------------------------------------------------


async def test_authorize_interaction_asks_to_log_in_first(node: Node, remote: FakeRemote) -> None:
    uri = remote.actor_url("alice")
    response = await node.client.get("/authorize_interaction", params={"uri": uri})
    assert response.status_code == 303
    expected = "/authorize_interaction?uri=" + quote(uri, safe="")
    assert response.headers["location"] == "/login?next=" + quote(expected, safe="")


async def test_a_resident_follows_a_remote_actor(
    node: Node, places: dict, remote: FakeRemote, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = remote.actor_document
    summary = '<p>Gardener <script>alert("x")</script><a href="javascript:x()">me</a></p>'
    monkeypatch.setattr(
        remote, "actor_document", lambda name: {**document(name), "summary": summary}
    )
    await _log_in(node, places["marleen"])
    uri = remote.actor_url("alice")
    page = await node.client.get("/authorize_interaction", params={"uri": uri})
    assert page.status_code == 200
    assert "Alice" in page.text
    assert f"@alice@{remote.base.removeprefix('http://')}" in page.text
    assert "Gardener" in page.text
    assert "<script>" not in page.text and "javascript:" not in page.text

    without_token = await node.client.post("/authorize_interaction", data={"uri": uri})
    assert without_token.status_code == 403
    token = TOKEN.search(page.text)
    assert token
    answer = await node.client.post(
        "/authorize_interaction", data={"uri": uri, "csrf_token": token.group(1)}
    )
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("&done=follow")
    assert await Event.filter(kind="RemoteFollowRequested").count() == 1
    await node.work()
    [follow] = [r.json for r in remote.received if r.json.get("type") == "Follow"]
    assert follow["actor"] == BASE + "/@marleen" and follow["object"] == uri
    again = await node.client.get(answer.headers["location"], headers={"accept-language": "en"})
    assert "You asked to follow them" in again.text or "You follow them" in again.text
    assert 'action="/authorize_interaction"' not in again.text


async def test_a_handle_is_looked_up_first(
    node: Node, places: dict, remote: FakeRemote, finger: Finger
) -> None:
    handle = finger.add("alice", self_href=remote.actor_url("alice"))
    await _log_in(node, places["marleen"])
    page = await node.client.get("/authorize_interaction", params={"uri": handle})
    assert page.status_code == 200
    assert 'name="uri" value="' + remote.actor_url("alice") + '"' in page.text


async def test_a_local_address_leads_to_its_page(node: Node, places: dict) -> None:
    await _log_in(node, places["marleen"])
    for uri, path in ((GROUP, "/n/jette-centre"), ("@buurthuis@nabuur.test", "/o/buurthuis")):
        response = await node.client.get("/authorize_interaction", params={"uri": uri})
        assert response.status_code == 303
        assert response.headers["location"] == path


@pytest.mark.parametrize(
    ("uri", "status", "message"),
    [
        ("", 400, "There is no address to look up"),
        ("@nobody@nabuur.test", 404, "There is nothing at this address"),
        ("not a thing", 400, "Only people, groups and organisations"),
        ("note", 400, "Only people, groups and organisations"),
        ("missing", 404, "That server does not know this address"),
        ("closed", 400, "That server could not be reached"),
    ],
)
async def test_what_cannot_be_followed_is_explained(
    node: Node, places: dict, remote: FakeRemote, uri: str, status: int, message: str
) -> None:
    remote.objects["note-1"] = {"id": remote.object_url("note-1"), "type": "Note"}
    uri = {
        "note": remote.object_url("note-1"),
        "missing": remote.actor_url("nobody"),
        "closed": f"http://127.0.0.1:{free_port()}/users/x",
    }.get(uri, uri)
    await _log_in(node, places["marleen"])
    response = await node.client.get(
        "/authorize_interaction", params={"uri": uri}, headers={"accept-language": "en"}
    )
    assert response.status_code == status
    assert message in response.text


# --- two real nodes ----------------------------------------------------------------------


@pytest.mark.slow
async def test_remote_follow_between_two_nodes(tmp_path: Path) -> None:
    with running_nodes(tmp_path, a={}, b={}) as nodes:
        a, b = nodes["a"], nodes["b"]
        group = a.url("/n/jette-centre")
        async with httpx.AsyncClient(base_url=a.base) as visitor:
            token = await _token(visitor, "/n/jette-centre")
            sent = await visitor.post(
                "/remote-follow",
                data={
                    "csrf_token": token,
                    "target": "/n/jette-centre",
                    "handle": f"@marleen@127.0.0.1:{b.port}",
                },
            )
        assert sent.status_code == 303, sent.text
        location = sent.headers["location"]
        assert location == b.url("/authorize_interaction?uri=" + quote(group, safe=""))

        async with httpx.AsyncClient(base_url=b.base) as marleen:
            first = await marleen.get(location)
            assert first.status_code == 303
            login_page = await marleen.get(first.headers["location"])
            form = login_page.text.split('action="/login"', 1)[1]
            fields = dict(re.findall(r'name="(csrf_token|next)" value="([^"]*)"', form)[:2])
            logged_in = await marleen.post(
                "/login",
                data={
                    **{name: html.unescape(value) for name, value in fields.items()},
                    "username": "marleen",
                    "password": "nabuur-demo-2026",
                },
            )
            assert logged_in.status_code == 303
            assert logged_in.headers["location"] == location.removeprefix(b.base)
            page = await marleen.get(location)
            assert page.status_code == 200, page.text
            assert f"@jette-centre@127.0.0.1:{a.port}" in page.text
            token = TOKEN.search(page.text)
            assert token
            before = (await get_json(a.url("/n/jette-centre/followers")))["totalItems"]
            followed = await marleen.post(
                "/authorize_interaction", data={"uri": group, "csrf_token": token.group(1)}
            )
            assert followed.status_code == 303

        async def a_counts_marleen() -> bool:
            # Followers are counted, never listed (FEDERATION.md, "Followers").
            collection = await get_json(a.url("/n/jette-centre/followers"))
            return collection["totalItems"] == before + 1 and "orderedItems" not in collection

        await eventually(a_counts_marleen, seconds=30)
