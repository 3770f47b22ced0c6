"""Read-only look-ups for the residents' pages: fediverse handles, WebFinger, actors.

Remote follow ("Follow from your Mastodon account") needs the visitor's own server's
`http://ostatus.org/schema/1.0/subscribe` template, found by WebFinger; our own
`/authorize_interaction` page needs to show a remote actor before a resident follows
it. Both fetch through the federation HTTP client (SSRF guard, size limits) under one
short deadline, store nothing, and fail with a `LookupFailed` whose `reason` is one of
the `REASONS`, for the page to explain in the visitor's language.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from federation.actors import ActorUnavailable, fetch_document
from federation.context import Federation
from federation.discovery import SUBSCRIBE_REL
from federation.parse import ParseError, is_http_url, parse_actor
from federation.ssrf import FetchError, UnsafeAddressError, parse_ip_literal
from node import uris
from node.services.remote_actors import RemoteActorData

LOOKUP_SECONDS = 8.0  # the whole look-up, redirects included: a visitor is waiting
JRD_ACCEPT = "application/jrd+json, application/json;q=0.9"

REASONS = (
    "blocked",  # the node does not federate with that server
    "refused",  # the address may not be contacted (SSRF guard)
    "unreachable",  # network error, bad answer
    "timeout",
    "not_found",  # no such account there
    "no_template",  # the server offers no remote follow
    "not_actor",  # the address names something that cannot be followed
)

_USER = r"[A-Za-z0-9_.~-]{1,100}"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?"
_HANDLE = re.compile(rf"^(?:acct:)?@?({_USER})@({_HOST})$")


class LookupFailed(Exception):
    """A look-up did not give what was asked; `reason` is one of REASONS."""

    def __init__(self, reason: str, detail: str = "") -> None:
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Handle:
    """A fediverse address, `user@host` (the host may carry a port)."""

    user: str
    host: str

    @property
    def acct(self) -> str:
        return f"acct:{self.user}@{self.host}"

    def __str__(self) -> str:
        return f"@{self.user}@{self.host}"


def parse_handle(text: str) -> Handle | None:
    """`@user@host` or `user@host` (also `acct:user@host`); None for anything else."""
    candidate = text.strip()
    if not candidate.isascii():
        try:  # an internationalised domain name, written as people read it
            user, _, host = candidate.rpartition("@")
            candidate = f"{user}@{host.encode('idna').decode('ascii')}"
        except UnicodeError:
            return None
    match = _HANDLE.match(candidate)
    if match is None:
        return None
    host = match.group(2).lower()
    if ":" in host and not 0 < int(host.rsplit(":", 1)[1]) < 65536:
        return None
    return Handle(match.group(1), host)


def fill_template(template: str, uri: str) -> str:
    """The subscribe template with `{uri}` replaced by `uri`, URL-encoded."""
    return template.replace("{uri}", quote(uri, safe=""))


def _schemes(fed: Federation, host: str) -> tuple[str, ...]:
    """https always; plain http only where private addresses are allowed (dev, tests),
    tried first for loopback and private IP literals, which rarely speak TLS."""
    if not fed.settings.allow_private_addresses:
        return ("https",)
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    try:
        literal = parse_ip_literal(name)
    except ValueError:
        literal = None
    if name == "localhost" or (literal is not None and not literal.is_global):
        return ("http", "https")
    return ("https", "http")


async def _checked_host(fed: Federation, host: str) -> None:
    if not await fed.domain_allowed(host):
        raise LookupFailed("blocked", host)


async def _webfinger(fed: Federation, handle: Handle) -> dict[str, Any]:
    failure = LookupFailed("unreachable", handle.host)
    for scheme in _schemes(fed, handle.host):
        url = f"{scheme}://{handle.host}/.well-known/webfinger?resource={quote(handle.acct)}"
        try:
            response = await fed.client.request("GET", url, headers={"Accept": JRD_ACCEPT})
        except UnsafeAddressError as exc:
            raise LookupFailed("refused", str(exc)) from None
        except FetchError as exc:
            failure = LookupFailed("unreachable", str(exc))
            continue
        if response.status in (404, 410):
            raise LookupFailed("not_found", str(handle))
        if response.status != 200:
            raise LookupFailed("unreachable", f"status {response.status}")
        try:
            document = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            document = None
        if not isinstance(document, dict):
            raise LookupFailed("unreachable", "not a JSON object")
        return document
    raise failure


def _links(document: dict[str, Any]) -> list[dict[str, Any]]:
    links = document.get("links")
    return [link for link in links if isinstance(link, dict)] if isinstance(links, list) else []


def _usable_url(fed: Federation, url: object) -> bool:
    if not is_http_url(url):
        return False
    assert isinstance(url, str)
    return urlsplit(url).scheme == "https" or fed.settings.allow_private_addresses


async def _bounded(coroutine: Any) -> Any:
    try:
        async with asyncio.timeout(LOOKUP_SECONDS):
            return await coroutine
    except TimeoutError:
        raise LookupFailed("timeout") from None


async def subscribe_template(fed: Federation, handle: Handle) -> str:
    """The remote-follow URL template (with `{uri}`) that `handle`'s server publishes."""
    if handle.host == fed.settings.domain.lower():
        return uris.absolute(fed.settings, "/authorize_interaction") + "?uri={uri}"
    await _checked_host(fed, handle.host)
    document = await _bounded(_webfinger(fed, handle))
    for link in _links(document):
        template = link.get("template")
        if (
            link.get("rel") == SUBSCRIBE_REL
            and isinstance(template, str)
            and "{uri}" in template
            and _usable_url(fed, template.replace("{uri}", "x"))
        ):
            return template
    raise LookupFailed("no_template", str(handle))


async def actor_uri_for_handle(fed: Federation, handle: Handle) -> str:
    """The ActivityPub id that `handle` names (WebFinger's `self` link)."""
    await _checked_host(fed, handle.host)
    document = await _bounded(_webfinger(fed, handle))
    for link in _links(document):
        if link.get("rel") == "self" and _usable_url(fed, link.get("href")):
            media_type = str(link.get("type", "application/activity+json"))
            if "activity+json" in media_type or "ld+json" in media_type:
                return str(link["href"])
    raise LookupFailed("not_actor", str(handle))


async def _fetch_actor(fed: Federation, uri: str) -> RemoteActorData:
    try:
        document = await fetch_document(fed, uri)
    except ActorUnavailable as exc:
        if exc.reason == "domain not federated with":
            raise LookupFailed("blocked", uri) from None
        if exc.status in (404, 410):
            raise LookupFailed("not_found", uri) from None
        if isinstance(exc.__cause__, UnsafeAddressError):
            raise LookupFailed("refused", uri) from None
        raise LookupFailed("unreachable", exc.reason) from None
    try:
        return parse_actor(document, uri)
    except ParseError as exc:
        raise LookupFailed("not_actor", str(exc)) from None


async def remote_actor(fed: Federation, uri: str) -> RemoteActorData:
    """A remote actor as its server describes it now (summary sanitised); not stored."""
    if not _usable_url(fed, uri) or uris.is_local(fed.settings, uri):
        raise LookupFailed("not_actor", uri)
    return await _bounded(_fetch_actor(fed, uri))
