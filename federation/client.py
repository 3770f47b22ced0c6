"""Nabuur's one outgoing HTTP client: every request to another server goes through here.

It wraps one aiohttp session per `HttpClient` with the limits a federating server needs
against slow, huge or hostile peers: fixed timeouts, at most a few redirects (followed by
hand so that each hop is re-checked and re-signed), a cap on response size, and the SSRF
guard of `federation.ssrf` on every hop. `get_activity` adds the ActivityPub checks for
fetching a remote object (content type, JSON object, id matching the URL it came from).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiohttp
import orjson
from multidict import CIMultiDictProxy
from yarl import URL

from federation.resolver import SafeResolver
from federation.signing_types import AsyncSigner, Signer
from federation.ssrf import FetchError, UnsafeAddressError, check_literal_host

__all__ = [
    "ACTIVITY_ACCEPT",
    "AsyncSigner",
    "FetchError",
    "HttpClient",
    "HttpResponse",
    "ResponseTooLargeError",
    "Signer",
    "UnsafeAddressError",
]

log = logging.getLogger(__name__)


ACTIVITY_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
ACTIVITY_TYPES = frozenset({"application/activity+json", "application/ld+json"})

_HOSTS_REMEMBERED = 10_000  # host verdicts kept before the set is emptied
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_READ_CHUNK = 64 * 1024
# Credentials meant for one server must not follow a redirect to another one.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
# Describe the body, so they go when a 301/302/303 turns the request into a bodiless GET.
_BODY_HEADERS = frozenset(
    {"content-type", "content-length", "content-encoding", "digest", "content-digest"}
)


class ResponseTooLargeError(FetchError):
    """The response body is over the client's size limit; it was not read to the end."""


@dataclass(frozen=True)
class HttpResponse:
    """A complete response: any status, the headers, the whole body, the final URL."""

    status: int
    headers: CIMultiDictProxy[str] | Mapping[str, str]
    body: bytes
    url: str  # after redirects


@dataclass(frozen=True)
class _Hop:
    """One request of a redirect chain, before signing."""

    method: str
    url: URL
    headers: Mapping[str, str]
    body: bytes | None


def _parse_url(url: str) -> URL:
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        raise FetchError(str(url), "malformed URL") from None
    # The fragment is never sent; dropping it keeps the final URL comparable with ids.
    return parsed.with_fragment(None) if parsed.raw_fragment else parsed


def _without(headers: Mapping[str, str], names: frozenset[str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() not in names}


def _origin(url: URL) -> tuple[str, str, int | None]:
    return url.scheme, (url.host or "").rstrip(".").lower(), url.port


def _redirect_location(hop: _Hop, response: aiohttp.ClientResponse) -> URL | None:
    """Where a redirect response points, or None when it is a final response."""
    location = response.headers.get("Location")
    if response.status not in _REDIRECT_STATUSES or not location:
        return None
    try:
        return hop.url.join(URL(location)).with_fragment(None)
    except ValueError:
        raise FetchError(str(hop.url), "malformed redirect", status=response.status) from None


def _next_hop(hop: _Hop, status: int, target: URL) -> _Hop:
    """The request to send to a redirect target (RFC 9110, section 15.4)."""
    headers = dict(hop.headers)
    if _origin(target) != _origin(hop.url):
        headers = _without(headers, _CREDENTIAL_HEADERS)
    if status in (301, 302, 303) and hop.method != "HEAD":
        return _Hop("GET", target, _without(headers, _BODY_HEADERS), None)
    return _Hop(hop.method, target, headers, hop.body)


async def _read_body(response: aiohttp.ClientResponse, limit: int, url: str) -> bytes:
    """Read at most `limit` bytes (after decompression); refuse anything longer."""
    declared = response.content_length
    if declared is not None and declared > limit and response.method != "HEAD":
        raise ResponseTooLargeError(url, f"Content-Length over {limit}", status=response.status)
    if declared == 0:  # most inboxes answer 202 with nothing: no reader to set up
        return b""
    body = bytearray()
    # Counting as we go also covers chunked and compressed bodies without a usable length.
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        body += chunk
        if len(body) > limit:
            raise ResponseTooLargeError(url, f"body over {limit}", status=response.status)
    return bytes(body)


def _network_reason(exc: BaseException) -> str:
    # aiohttp's messages name host and port, never headers; keep them short all the same.
    return f"network error: {type(exc).__name__}: {exc}"[:200]


class HttpClient:
    """The outgoing HTTP client; use `async with HttpClient(...)` or call `close()`."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        user_agent: str,
        max_body: int = 1024 * 1024,
        max_redirects: int = 3,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        total_timeout: float = 30.0,
        limit: int = 100,
        limit_per_host: int = 8,
    ) -> None:
        self._allow_private = allow_private
        self._user_agent = user_agent
        self._max_body = max_body
        self._max_redirects = max_redirects
        self._total_timeout = total_timeout
        self._timeout = aiohttp.ClientTimeout(
            total=total_timeout,
            connect=connect_timeout,
            sock_connect=connect_timeout,
            sock_read=read_timeout,
        )
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._session: aiohttp.ClientSession | None = None
        self._resolver: SafeResolver | None = None
        self._closed = False
        self._allowed_hosts: set[str] = set()  # hosts that passed `check_literal_host`

    async def __aenter__(self) -> Self:
        self._ensure_session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session and its connections; the client cannot be used afterwards."""
        self._closed = True
        session, self._session = self._session, None
        resolver, self._resolver = self._resolver, None
        if session is not None:
            await session.close()
        if resolver is not None:
            await resolver.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        # Created on first use because aiohttp sessions must be made inside a running loop.
        if self._closed:
            raise RuntimeError("HttpClient is closed")
        if self._session is None:
            self._resolver = SafeResolver(allow_private=self._allow_private)
            connector = aiohttp.TCPConnector(
                resolver=self._resolver, limit=self._limit, limit_per_host=self._limit_per_host
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                # Peers are not browsers: no cookies carried between requests or servers.
                cookie_jar=aiohttp.DummyCookieJar(),
                # No proxy from the environment: it would see, and choose, our destinations.
                trust_env=False,
            )
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        signer: Signer | AsyncSigner | None = None,
    ) -> HttpResponse:
        """Send a request, following redirects; any status comes back as a response.

        Raises FetchError (or a subclass) for network errors, timeouts, too many redirects,
        a refused scheme or address, and a response over the size limit.
        """
        hop = _Hop(method.upper(), _parse_url(url), dict(headers or {}), body)
        try:
            # One deadline for the whole chain, so redirects cannot stretch it.
            async with asyncio.timeout(self._total_timeout):
                return await self._follow(hop, signer)
        except TimeoutError:
            raise FetchError(url, "timed out") from None

    async def _follow(self, hop: _Hop, signer: Signer | AsyncSigner | None) -> HttpResponse:
        for _ in range(self._max_redirects + 1):
            self._check_target(hop.url)
            response, target = await self._send(hop, signer)
            if target is None:
                return response
            log.debug("%s %s redirects (%s) to %s", hop.method, hop.url, response.status, target)
            hop = _next_hop(hop, response.status, target)
        raise FetchError(str(hop.url), "too many redirects")

    def _check_target(self, url: URL) -> None:
        """Refuse, before any connection, a scheme or IP-literal host we must not use."""
        # Refusals, not failures: retrying (or a redirect's second try) cannot fix them.
        if url.scheme not in ("http", "https"):
            raise UnsafeAddressError(str(url), "unsupported scheme")
        if url.scheme == "http" and not self._allow_private:
            raise UnsafeAddressError(str(url), "plain http is refused")
        host = url.raw_host
        if not host:
            raise FetchError(str(url), "no host")
        if host in self._allowed_hosts:
            return
        try:
            check_literal_host(host, allow_private=self._allow_private)
        except UnsafeAddressError as exc:
            raise UnsafeAddressError(str(url), exc.reason) from None
        # The verdict depends on the host alone: a fan-out to 1,000 inboxes on one host
        # parses it once (an IP literal costs tens of µs), not per delivery. Bounded.
        if len(self._allowed_hosts) >= _HOSTS_REMEMBERED:
            self._allowed_hosts.clear()
        self._allowed_hosts.add(host)

    async def _hop_headers(self, hop: _Hop, signer: Signer | AsyncSigner | None) -> dict[str, str]:
        headers = {"User-Agent": self._user_agent, **hop.headers}
        if signer is not None:
            # Each hop is signed for its own method and URL; the signer sees a copy.
            added = signer(hop.method, str(hop.url), dict(headers), hop.body)
            if inspect.isawaitable(added):  # signed in a thread pool (deliveries)
                added = await added
            headers.update(added)
        return headers

    async def _send(
        self, hop: _Hop, signer: Signer | AsyncSigner | None
    ) -> tuple[HttpResponse, URL | None]:
        """Send one hop; return the response and, for a redirect, its target."""
        session = self._ensure_session()
        url = str(hop.url)
        headers = await self._hop_headers(hop, signer)
        try:
            async with session.request(
                hop.method,
                hop.url,
                headers=headers,
                data=hop.body,
                allow_redirects=False,
            ) as response:
                log.debug("%s %s -> %s", hop.method, url, response.status)
                target = _redirect_location(hop, response)
                if target is not None:
                    # A redirect's body is never read: releasing the response drops it.
                    return HttpResponse(response.status, response.headers, b"", url), target
                body = await _read_body(response, self._max_body, url)
                return HttpResponse(response.status, response.headers, body, url), None
        except UnsafeAddressError as exc:
            # Raised by SafeResolver, which knows only the host name.
            raise UnsafeAddressError(url, exc.reason) from None
        except FetchError:
            raise
        except TimeoutError:
            raise FetchError(url, "timed out") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise FetchError(url, _network_reason(exc)) from None

    async def get_activity(
        self, url: str, *, signer: Signer | AsyncSigner | None = None
    ) -> dict[str, Any]:
        """Fetch an ActivityPub object and check that it really lives at `url`."""
        response = await self.request(
            "GET", url, headers={"Accept": ACTIVITY_ACCEPT}, signer=signer
        )
        _require_ok(response)
        _require_activity_type(response)
        document = _parse_object(response)
        _require_own_id(_parse_url(url), response, document)
        return document


def _require_ok(response: HttpResponse) -> None:
    if response.status == 410:
        raise FetchError(response.url, "gone", status=410)
    if response.status != 200:
        raise FetchError(response.url, "unexpected status", status=response.status)


def _require_activity_type(response: HttpResponse) -> None:
    content_type = response.headers.get("Content-Type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in ACTIVITY_TYPES:
        raise FetchError(response.url, "not an ActivityPub content type", status=response.status)


def _parse_object(response: HttpResponse) -> dict[str, Any]:
    try:
        document = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        raise FetchError(response.url, "not JSON object", status=response.status)
    return document


def _same_id(document_id: object, final_url: str) -> bool:
    if not isinstance(document_id, str):
        return False
    try:
        return str(URL(document_id)) == final_url
    except ValueError:
        return False


def _require_own_id(requested: URL, response: HttpResponse, document: dict[str, Any]) -> None:
    # A server may only vouch for documents on its own host: the id must name the URL the
    # document was served from, and redirects must not have left the host asked for.
    final = URL(response.url)
    same_host = _origin(final)[1:] == _origin(requested)[1:]
    if not same_host or not _same_id(document.get("id"), response.url):
        raise FetchError(response.url, "id does not match", status=response.status)
