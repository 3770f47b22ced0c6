"""Tests of the outgoing HTTP client and its SSRF guard, against real local servers.

Everything listens on 127.0.0.1 (or ::1) with random ports; nothing else is ever contacted.
Refusals are proven by servers that count connections and requests: they must see none.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from ipaddress import ip_address

import orjson
import pytest
from aiohttp import web
from aiohttp.abc import ResolveResult
from aiohttp.test_utils import TestServer
from aiohttp.typedefs import Handler
from yarl import URL

from federation import client as client_module
from federation import ssrf
from federation.client import (
    ACTIVITY_ACCEPT,
    FetchError,
    HttpClient,
    ResponseTooLargeError,
    UnsafeAddressError,
)
from federation.resolver import SafeResolver
from federation.ssrf import is_public_address

UA = "Nabuur-test/1.0"
AP_JSON = "application/activity+json"
MIB = 1024 * 1024


# ---------------------------------------------------------------- servers


@dataclass
class Site:
    """A test server and what it saw."""

    server: TestServer
    requests: list[web.Request] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.server.port}{path}"

    def elsewhere(self, target: str) -> str:
        """A URL on this site that redirects to `target`."""
        return str(URL(self.url("/elsewhere")).with_query(to=target))


def _activity(request: web.Request, doc_id: str) -> web.Response:
    return web.Response(body=orjson.dumps({"id": doc_id, "type": "Note"}), content_type=AP_JSON)


def _own_url(request: web.Request) -> str:
    return f"http://{request.host}{request.path}"


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response({"method": request.method, "body": body.decode()})


async def redirect(request: web.Request) -> web.Response:
    left = int(request.match_info["left"])
    if left == 0:
        return _activity(request, _own_url(request))
    raise web.HTTPFound(f"/redirect/{left - 1}")


async def redirect_with(request: web.Request) -> web.Response:
    status = int(request.match_info["status"])
    return web.Response(status=status, headers={"Location": "/echo"})


async def to_elsewhere(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.query["to"])


async def activity(request: web.Request) -> web.Response:
    return _activity(request, _own_url(request))


async def ld_activity(request: web.Request) -> web.Response:
    body = orjson.dumps({"id": _own_url(request)})
    ld = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
    return web.Response(body=body, headers={"Content-Type": ld})


async def wrong_id(request: web.Request) -> web.Response:
    return _activity(request, "http://127.0.0.1:1/someone-else")


async def html(request: web.Request) -> web.Response:
    return web.Response(text="<p>hi</p>", content_type="text/html")


async def not_json(request: web.Request) -> web.Response:
    return web.Response(text="{not json", content_type=AP_JSON)


async def json_list(request: web.Request) -> web.Response:
    return web.Response(text="[1, 2]", content_type=AP_JSON)


async def gone(request: web.Request) -> web.Response:
    return web.Response(status=410, text="gone")


async def missing(request: web.Request) -> web.Response:
    return web.Response(status=404, text="no such thing")


async def big(request: web.Request) -> web.Response:
    return web.Response(body=b"x" * (2 * MIB))


async def chunked(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    for _ in range(40):  # 2.5 MiB in total, never announced
        await response.write(b"y" * 65536)
    return response


async def exactly_limit(request: web.Request) -> web.Response:
    return web.Response(body=b"z" * 1000)


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(3)
    return web.Response(text="too late")


async def dribble(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    for _ in range(30):  # each byte in time for sock_read, the whole far too slow
        await response.write(b".")
        await asyncio.sleep(0.1)
    return response


def make_app(seen: list[web.Request]) -> web.Application:
    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen.append(request)
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.router.add_get("/hello", hello)
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/redirect/{left}", redirect)
    app.router.add_post("/status/{status}", redirect_with)
    app.router.add_get("/elsewhere", to_elsewhere)
    app.router.add_get("/activity", activity)
    app.router.add_get("/ld", ld_activity)
    app.router.add_get("/wrong-id", wrong_id)
    app.router.add_get("/html", html)
    app.router.add_get("/not-json", not_json)
    app.router.add_get("/list", json_list)
    app.router.add_get("/gone", gone)
    app.router.add_get("/missing", missing)
    app.router.add_get("/big", big)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/exactly", exactly_limit)
    app.router.add_get("/slow", slow)
    app.router.add_get("/dribble", dribble)
    return app


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    seen: list[web.Request] = []
    site = Site(TestServer(make_app(seen), host="127.0.0.1"), seen)
    await site.server.start_server()
    try:
        yield site
    finally:
        await site.server.close()


@dataclass
class Canary:
    """A bare TCP listener on loopback: it counts every connection it accepts."""

    port: int
    connections: int = 0


@pytest.fixture
async def canary() -> AsyncIterator[Canary]:
    counter = Canary(port=0)

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counter.connections += 1
        writer.close()

    v4 = await asyncio.start_server(accepted, "127.0.0.1", 0)
    counter.port = v4.sockets[0].getsockname()[1]
    # The same port on ::1 too, so that [::1] would be caught as well.
    v6 = await asyncio.start_server(accepted, "::1", counter.port)
    try:
        yield counter
    finally:
        for server in (v4, v6):
            server.close()
            await server.wait_closed()


@pytest.fixture
async def dev_client() -> AsyncIterator[HttpClient]:
    async with HttpClient(allow_private=True, user_agent=UA) as http:
        yield http


@pytest.fixture
async def strict_client() -> AsyncIterator[HttpClient]:
    async with HttpClient(user_agent=UA) as http:
        yield http


@dataclass
class FakeLookup:
    """A stand-in for DNS answering from `table`; it records the names asked for."""

    table: Mapping[str, str]
    asked: list[str] = field(default_factory=list)

    async def __call__(
        self, host: str, port: int, family: socket.AddressFamily
    ) -> list[ResolveResult]:
        self.asked.append(host)
        address = self.table[host]
        found = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [
            ResolveResult(hostname=host, host=address, port=port, family=found, proto=6, flags=0)
        ]


def use_lookup(monkeypatch: pytest.MonkeyPatch, table: Mapping[str, str]) -> FakeLookup:
    """Make clients created from now on resolve through a FakeLookup over `table`."""
    lookup = FakeLookup(table)
    factory = functools.partial(SafeResolver, lookup=lookup)
    monkeypatch.setattr(client_module, "SafeResolver", factory)
    return lookup


# ---------------------------------------------------------------- is_public_address

ADDRESSES = [
    ("8.8.8.8", True),
    ("1.1.1.1", True),
    ("93.184.216.34", True),
    ("2606:4700::1111", True),
    ("2a00:1450:4001:80b::200e", True),
    ("2002:808:808::1", True),  # 6to4 for 8.8.8.8
    ("64:ff9b::808:808", True),  # NAT64 for 8.8.8.8
    ("127.0.0.1", False),
    ("127.255.255.254", False),
    ("0.0.0.0", False),  # noqa: S104
    ("0.1.2.3", False),
    ("10.0.0.1", False),
    ("172.16.5.4", False),
    ("172.31.255.255", False),
    ("192.168.1.1", False),
    ("100.64.0.1", False),
    ("100.127.255.255", False),
    ("169.254.169.254", False),
    ("192.0.0.8", False),
    ("192.0.2.1", False),
    ("198.51.100.7", False),
    ("203.0.113.9", False),
    ("198.18.0.1", False),
    ("198.19.255.255", False),
    ("192.88.99.1", False),
    ("224.0.0.1", False),
    ("239.255.255.250", False),
    ("240.0.0.1", False),
    ("255.255.255.255", False),
    ("::", False),
    ("::1", False),
    ("fe80::1", False),
    ("fe80::1%1", False),
    ("fec0::1", False),
    ("fc00::1", False),
    ("fd12:3456::1", False),
    ("ff02::1", False),
    ("100::1", False),
    ("2001:db8::1", False),
    ("3fff::1", False),
    ("2001::1", False),  # Teredo
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
    ("2001:2::1", False),  # benchmarking
    ("2001:10::1", False),  # ORCHID
    ("::ffff:127.0.0.1", False),
    ("::ffff:8.8.8.8", False),  # IPv4-mapped: never a real destination here
    ("::127.0.0.1", False),  # IPv4-compatible
    ("::8.8.8.8", False),
    ("64:ff9b::a00:1", False),  # NAT64 for 10.0.0.1
    ("64:ff9b::7f00:1", False),
    ("64:ff9b:1::808:808", False),  # NAT64 local use
    ("2002:7f00:1::1", False),  # 6to4 for 127.0.0.1
    ("2002:a9fe:a9fe::1", False),  # 6to4 for 169.254.169.254
    ("5f00::1", False),
]


@pytest.mark.parametrize(("address", "public"), ADDRESSES)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ip_address(address)) is public


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("10.1.2.3", True),
        ("192.168.0.10", True),
        ("fd00::5", True),
        ("8.8.8.8", True),
        ("169.254.169.254", False),
        ("0.0.0.0", False),  # noqa: S104
        ("224.0.0.1", False),
        ("::ffff:127.0.0.1", False),
    ],
)
def test_allow_private_opens_only_loopback_and_private(address: str, allowed: bool) -> None:
    assert ssrf.is_allowed_address(ip_address(address), allow_private=True) is allowed


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("example.org", None),
    ],
)
def test_ip_literals_are_normalised(host: str, address: str | None) -> None:
    expected = None if address is None else ip_address(address)
    assert ssrf.parse_ip_literal(host) == expected


@pytest.mark.parametrize("host", ["127.0.0.1.", "1.2.3.4.5", "99999999999", "[::zz]"])
def test_unparseable_numeric_hosts_are_refused(host: str) -> None:
    with pytest.raises(UnsafeAddressError):
        ssrf.check_literal_host(host, allow_private=True)


async def test_resolver_drops_unsafe_addresses_and_refuses_when_none_remain() -> None:
    async def mixed(host: str, port: int, family: socket.AddressFamily) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=0, proto=6, flags=0)
            for a in ("127.0.0.1", "8.8.8.8", "fd00::1", "2606:4700::1111")
        ]

    resolver = SafeResolver(allow_private=False, lookup=mixed)
    kept = await resolver.resolve("mixed.test", 443)
    assert [r["host"] for r in kept] == ["8.8.8.8", "2606:4700::1111"]
    local = SafeResolver(allow_private=False, lookup=FakeLookup({"x.test": "10.0.0.1"}))
    with pytest.raises(UnsafeAddressError):
        await local.resolve("x.test", 443)


# ---------------------------------------------------------------- plain requests


async def test_get_and_post(site: Site, dev_client: HttpClient) -> None:
    response = await dev_client.request("GET", site.url("/hello"))
    assert (response.status, response.body) == (200, b"hello")
    assert response.url == site.url("/hello")
    assert site.requests[-1].headers["User-Agent"] == UA

    posted = await dev_client.request("POST", site.url("/echo"), body=b"payload")
    assert orjson.loads(posted.body) == {"method": "POST", "body": "payload"}


async def test_error_statuses_are_responses(site: Site, dev_client: HttpClient) -> None:
    response = await dev_client.request("GET", site.url("/missing"))
    assert response.status == 404
    assert response.body == b"no such thing"


async def test_connection_refused_is_a_fetch_error(dev_client: HttpClient) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        await dev_client.request("GET", f"http://127.0.0.1:{port}/")
    assert caught.value.status is None
    assert "network error" in caught.value.reason


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://x/"])
async def test_other_schemes_are_refused(dev_client: HttpClient, url: str) -> None:
    with pytest.raises(FetchError, match="unsupported scheme"):
        await dev_client.request("GET", url)


async def test_plain_http_needs_allow_private(site: Site, strict_client: HttpClient) -> None:
    with pytest.raises(FetchError, match="plain http"):
        await strict_client.request("GET", site.url("/hello"))
    assert site.requests == []


async def test_a_closed_client_cannot_be_used(site: Site) -> None:
    http = HttpClient(allow_private=True, user_agent=UA)
    assert (await http.request("GET", site.url("/hello"))).status == 200
    await http.close()
    with pytest.raises(RuntimeError):
        await http.request("GET", site.url("/hello"))


# ---------------------------------------------------------------- SSRF refusals


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "2130706433",
        "0x7f.0.0.1",
        "0x7f.1",
        "0177.0.0.1",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
    ],
)
async def test_loopback_is_refused_before_any_connection(
    canary: Canary, strict_client: HttpClient, host: str
) -> None:
    with pytest.raises(UnsafeAddressError) as caught:
        await strict_client.request("GET", f"https://{host}:{canary.port}/")
    await asyncio.sleep(0.05)  # give a stray connection time to arrive
    assert canary.connections == 0
    assert f":{canary.port}/" in caught.value.url


@pytest.mark.parametrize(
    "host",
    ["10.0.0.1", "169.254.169.254", "[64:ff9b::a00:1]", "100.64.0.1", "[fd00::1]", "0.0.0.0"],  # noqa: S104
)
async def test_private_targets_are_refused_at_once(strict_client: HttpClient, host: str) -> None:
    started = time.monotonic()
    with pytest.raises(UnsafeAddressError):
        await strict_client.request("GET", f"https://{host}/")
    assert time.monotonic() - started < 0.5


async def test_names_are_checked_after_resolution(
    monkeypatch: pytest.MonkeyPatch, canary: Canary
) -> None:
    lookup = use_lookup(monkeypatch, {"public.test": "127.0.0.1"})
    async with HttpClient(user_agent=UA) as http:
        with pytest.raises(UnsafeAddressError, match=r"public\.test"):
            await http.request("GET", f"https://public.test:{canary.port}/inbox")
    assert lookup.asked == ["public.test"]
    assert canary.connections == 0


async def test_redirect_targets_are_checked_again(
    monkeypatch: pytest.MonkeyPatch, site: Site, canary: Canary
) -> None:
    # Loopback is allowed here (the first hop has to reach the test server), so the
    # second hop goes to what stays refused even then: link-local metadata addresses.
    lookup = use_lookup(monkeypatch, {"metadata.test": "169.254.169.254"})
    targets = (
        f"http://metadata.test:{canary.port}/latest",
        "http://169.254.169.254/latest",
        f"http://[::ffff:127.0.0.1]:{canary.port}/",
    )
    async with HttpClient(allow_private=True, user_agent=UA) as http:
        for target in targets:
            with pytest.raises(UnsafeAddressError) as caught:
                await http.request("GET", site.elsewhere(target))
            assert URL(caught.value.url) == URL(target)
    assert lookup.asked == ["metadata.test"]
    assert canary.connections == 0
    assert len(site.requests) == len(targets)  # only the first hops


async def test_redirect_to_another_scheme_is_refused(site: Site, dev_client: HttpClient) -> None:
    with pytest.raises(FetchError, match="unsupported scheme"):
        await dev_client.request("GET", site.elsewhere("file:///etc/passwd"))


# ---------------------------------------------------------------- redirects and signing


async def test_three_redirects_are_followed(site: Site, dev_client: HttpClient) -> None:
    response = await dev_client.request("GET", site.url("/redirect/3"))
    assert response.status == 200
    assert response.url == site.url("/redirect/0")
    assert [r.path for r in site.requests] == [f"/redirect/{n}" for n in (3, 2, 1, 0)]


async def test_a_fourth_redirect_is_refused(site: Site, dev_client: HttpClient) -> None:
    with pytest.raises(FetchError, match="too many redirects"):
        await dev_client.request("GET", site.url("/redirect/4"))
    assert len(site.requests) == 4  # the fifth request is never sent


@pytest.mark.parametrize(
    ("status", "method", "body"),
    [(301, "GET", ""), (302, "GET", ""), (303, "GET", ""), (307, "POST", "b"), (308, "POST", "b")],
)
async def test_redirect_method_rules(
    site: Site, dev_client: HttpClient, status: int, method: str, body: str
) -> None:
    response = await dev_client.request(
        "POST",
        site.url(f"/status/{status}"),
        body=b"b",
        headers={"Content-Type": "text/plain", "Digest": "SHA-256=x"},
    )
    assert orjson.loads(response.body) == {"method": method, "body": body}
    final = site.requests[-1]
    assert ("Digest" in final.headers) is (method == "POST")


async def test_the_signer_signs_every_hop_for_its_own_url(
    site: Site, dev_client: HttpClient
) -> None:
    calls: list[tuple[str, str, dict[str, str], bytes | None]] = []

    def signer(
        method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> Mapping[str, str]:
        calls.append((method, url, dict(headers), body))
        return {"Signature": f"signed {method} {url}"}

    response = await dev_client.request("GET", site.url("/redirect/2"), signer=signer)
    assert response.status == 200
    hops = [site.url(f"/redirect/{n}") for n in (2, 1, 0)]
    assert [(c[0], c[1]) for c in calls] == [("GET", url) for url in hops]
    assert all(c[2]["User-Agent"] == UA and "Signature" not in c[2] for c in calls)
    assert [r.headers["Signature"] for r in site.requests] == [f"signed GET {u}" for u in hops]


async def test_credentials_do_not_follow_a_redirect_to_another_host(
    site: Site, dev_client: HttpClient
) -> None:
    target = site.url("/hello", host="localhost")
    await dev_client.request(
        "GET", site.elsewhere(target), headers={"Authorization": "Bearer s3cret", "X-Keep": "1"}
    )
    first, second = site.requests
    assert first.headers["Authorization"] == "Bearer s3cret"
    assert "Authorization" not in second.headers
    assert second.headers["X-Keep"] == "1"


# ---------------------------------------------------------------- limits


async def test_a_declared_oversize_body_is_refused(site: Site, dev_client: HttpClient) -> None:
    with pytest.raises(ResponseTooLargeError, match="Content-Length") as caught:
        await dev_client.request("GET", site.url("/big"))
    assert caught.value.status == 200


async def test_an_undeclared_oversize_body_is_refused(site: Site, dev_client: HttpClient) -> None:
    with pytest.raises(ResponseTooLargeError, match="body over"):
        await dev_client.request("GET", site.url("/chunked"))


async def test_a_body_at_the_limit_is_accepted(site: Site) -> None:
    async with HttpClient(allow_private=True, user_agent=UA, max_body=1000) as http:
        assert len((await http.request("GET", site.url("/exactly"))).body) == 1000
    async with HttpClient(allow_private=True, user_agent=UA, max_body=999) as http:
        with pytest.raises(ResponseTooLargeError):
            await http.request("GET", site.url("/exactly"))


async def test_a_slow_server_times_out(site: Site) -> None:
    async with HttpClient(allow_private=True, user_agent=UA, read_timeout=0.2) as http:
        started = time.monotonic()
        with pytest.raises(FetchError, match="timed out"):
            await http.request("GET", site.url("/slow"))
    assert time.monotonic() - started < 1.5


async def test_the_total_timeout_bounds_a_dribbling_server(site: Site) -> None:
    async with HttpClient(
        allow_private=True, user_agent=UA, read_timeout=1.0, total_timeout=0.5
    ) as http:
        started = time.monotonic()
        with pytest.raises(FetchError, match="timed out"):
            await http.request("GET", site.url("/dribble"))
    assert time.monotonic() - started < 1.5


async def test_headers_never_reach_errors_or_logs(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    secret = "keyId=x,signature=TOPSECRET"
    async with HttpClient(allow_private=True, user_agent=UA, read_timeout=0.2) as http:
        signer = lambda *_: {"Signature": secret}  # noqa: E731
        assert (await http.request("GET", site.url("/redirect/1"), signer=signer)).status == 200
        with pytest.raises(FetchError) as caught:
            await http.request("GET", site.url("/slow"), headers={"Signature": secret})
    assert "TOPSECRET" not in str(caught.value)
    assert "TOPSECRET" not in repr(caught.value)
    assert caught.value.__cause__ is None
    assert "TOPSECRET" not in caplog.text


# ---------------------------------------------------------------- get_activity


async def test_get_activity(site: Site, dev_client: HttpClient) -> None:
    document = await dev_client.get_activity(site.url("/activity"))
    assert document == {"id": site.url("/activity"), "type": "Note"}
    assert site.requests[-1].headers["Accept"] == ACTIVITY_ACCEPT
    assert (await dev_client.get_activity(site.url("/ld")))["id"] == site.url("/ld")


async def test_get_activity_follows_redirects_on_the_same_host(
    site: Site, dev_client: HttpClient
) -> None:
    document = await dev_client.get_activity(site.url("/redirect/2"))
    assert document["id"] == site.url("/redirect/0")


async def test_get_activity_refuses_a_redirect_to_another_host(
    site: Site, dev_client: HttpClient
) -> None:
    # The document matches its own URL, but that URL is on another host than asked for.
    elsewhere = site.url("/activity", host="localhost")
    assert (await dev_client.get_activity(elsewhere))["id"] == elsewhere
    with pytest.raises(FetchError, match="id does not match") as caught:
        await dev_client.get_activity(site.elsewhere(elsewhere))
    assert caught.value.url == elsewhere


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/gone", 410, "gone"),
        ("/missing", 404, "unexpected status"),
        ("/html", 200, "content type"),
        ("/not-json", 200, "not JSON object"),
        ("/list", 200, "not JSON object"),
        ("/wrong-id", 200, "id does not match"),
    ],
)
async def test_get_activity_failures(
    site: Site, dev_client: HttpClient, path: str, status: int, reason: str
) -> None:
    with pytest.raises(FetchError) as caught:
        await dev_client.get_activity(site.url(path))
    assert caught.value.status == status
    assert reason in caught.value.reason
    assert caught.value.url == site.url(path)
