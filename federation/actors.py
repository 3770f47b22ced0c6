"""Finding remote actors: by id or by signing key, fetched with a signed GET and cached.

We never fetch a key or actor on our own host, nor on a blocked domain, and a key that
could not be had is not asked for again for a few minutes, so a flood of requests with
bogus key ids cannot make us fetch in a loop.
"""

from __future__ import annotations

import logging

from federation import ssrf
from federation.context import Federation
from federation.parse import ParseError, host_of, is_http_url, parse_actor
from federation.ssrf import FetchError, UnsafeAddressError
from node import uris
from node.models import RemoteActor
from node.services import remote_actors
from node.services.remote_actors import RemoteActorData

log = logging.getLogger("nabuur.federation")


class ActorUnavailable(Exception):
    """The actor or key could not be resolved; `reason` is short and safe to return."""

    def __init__(self, reason: str, *, temporary: bool = False, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary
        self.status = status  # the HTTP status, when the remote answered


async def _check_fetchable(fed: Federation, url: str) -> None:
    if not is_http_url(url):
        raise ActorUnavailable("not an http(s) URL")
    if uris.is_local(fed.settings, url) or host_of(url) == fed.settings.domain:
        raise ActorUnavailable("names this node")
    if not await fed.domain_allowed(host_of(url)):
        raise ActorUnavailable("domain not federated with")
    refused = ssrf.refusal(url, allow_private=fed.settings.allow_private_addresses)
    if refused is not None:
        raise ActorUnavailable(f"refused: {refused}")


async def fetch_document(fed: Federation, url: str) -> dict:
    """A remote ActivityPub document, fetched with a GET signed by our instance actor.

    An address the SSRF guard refuses is a permanent failure (a 401 at the inbox, so
    the sender stops); a timeout, a network error, a 5xx or a 429 is temporary (503).
    """
    await _check_fetchable(fed, url)
    key = await fed.instance_key()
    try:
        return await fed.client.get_activity(url, signer=key.signer("cavage"))
    except UnsafeAddressError as exc:  # the name resolves to a refused address
        raise ActorUnavailable(f"refused: {exc.reason}") from exc
    except FetchError as exc:
        temporary = exc.status is None or exc.status >= 500 or exc.status == 429
        raise ActorUnavailable(
            f"fetch failed: {exc.reason}", temporary=temporary, status=exc.status
        ) from exc


async def fetch_actor(fed: Federation, uri: str) -> RemoteActor:
    """Fetch (or refresh) an actor and store what we need of it."""
    document = await fetch_document(fed, uri)
    try:
        data = parse_actor(document, uri)
    except ParseError as exc:
        raise ActorUnavailable(str(exc)) from exc
    return await _store(fed, data)


async def _store(fed: Federation, data: RemoteActorData) -> RemoteActor:
    fed.forget_actor(data.uri)
    return fed.remember_actor(await remote_actors.upsert_remote_actor(data))


async def actor_by_uri(fed: Federation, uri: str, *, refresh: bool = False) -> RemoteActor:
    if not refresh:
        known = fed.actors_by_uri.get(uri) or await remote_actors.by_uri(uri)
        if known is not None:
            return fed.remember_actor(known)
    return await fetch_actor(fed, uri)


async def actor_for_key(fed: Federation, key_id: str, *, refresh: bool = False) -> RemoteActor:
    """The actor owning `key_id`: from storage, else by fetching the key's document.

    Mastodon's key ids are `actor#main-key` (the actor document holds the key); others
    serve a separate key document whose `owner` names the actor.
    """
    if not refresh:
        known = fed.actors_by_key.get(key_id) or await remote_actors.by_key_id(key_id)
        if known is not None:
            return fed.remember_actor(known)
    failed = fed.key_failure(key_id)
    if failed is not None:
        raise ActorUnavailable("key recently unavailable", temporary=failed)
    try:
        actor = await _resolve_key(fed, key_id)
    except ActorUnavailable as exc:
        fed.remember_failed_key(key_id, temporary=exc.temporary)
        raise
    if actor.key_id != key_id:
        fed.remember_failed_key(key_id)
        raise ActorUnavailable("the actor does not publish this key")
    return actor


async def _resolve_key(fed: Federation, key_id: str) -> RemoteActor:
    document_url = key_id.split("#", 1)[0]
    document = await fetch_document(fed, document_url)
    if document.get("type") in ("Key", "CryptographicKey") or "publicKeyPem" in document:
        owner = document.get("owner")
        if not isinstance(owner, str) or host_of(owner) != host_of(key_id):
            raise ActorUnavailable("the key's owner is not on the key's host")
        return await fetch_actor(fed, owner)
    try:
        data = parse_actor(document, document_url)
    except ParseError as exc:
        raise ActorUnavailable(str(exc)) from exc
    return await _store(fed, data)
