"""The federation runtime of one node process: settings, the HTTP client, caches.

Created in the app's lifespan (the HTTP client needs a running loop) and kept on
`app.state.federation`; workers and route handlers receive it explicitly.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from federation.cache import TTLCache
from federation.signing import LocalKey, Profile, local_key
from node import __version__
from node.config import Settings
from node.models import LocalActorKind, RemoteActor
from node.services import domain_policy

if TYPE_CHECKING:
    from federation.client import HttpClient

NEGATIVE_KEY_TTL = 300.0  # seconds a failed key look-up is remembered
REFETCH_AFTER_FAILURE = 60.0  # seconds between key refetches of one actor
CACHE_LIMIT = 10_000  # entries in each of these maps before it is emptied
ACTOR_TTL = 300.0  # seconds a known actor (and its key) is kept in memory
# Seconds a domain-policy verdict is kept in memory: a change made in another process
# (an admin's browser, `nabuur block`) applies here within this time; one made in this
# process at once (see `domain_policy.generation`).
DOMAIN_TTL = 5.0


@dataclass
class Federation:
    settings: Settings
    # keyId -> monotonic time until which we do not try to fetch it again
    failed_keys: dict[str, tuple[float, bool]] = field(default_factory=dict)
    # actor uri -> monotonic time of its last refetch after a failed verification
    refetched: dict[str, float] = field(default_factory=dict)
    # host -> the signature profile that host accepted last ("double knock" memory)
    host_profiles: dict[str, Profile] = field(default_factory=dict)
    # Set when deliveries are queued or inbox items stored, so workers wake at once.
    deliveries_waiting: asyncio.Event = field(default_factory=asyncio.Event)
    inbox_waiting: asyncio.Event = field(default_factory=asyncio.Event)
    events_waiting: asyncio.Event = field(default_factory=asyncio.Event)
    # The inbox answers thousands of requests a second from a few hundred senders:
    # their actors and domain verdicts are kept in memory, not read per request.
    actors_by_key: TTLCache[str, RemoteActor] = field(
        default_factory=lambda: TTLCache(ACTOR_TTL, CACHE_LIMIT)
    )
    actors_by_uri: TTLCache[str, RemoteActor] = field(
        default_factory=lambda: TTLCache(ACTOR_TTL, CACHE_LIMIT)
    )
    domain_verdicts: TTLCache[str, bool] = field(
        default_factory=lambda: TTLCache(DOMAIN_TTL, CACHE_LIMIT)
    )
    domain_generation: int = -1  # domain_policy.generation() when the verdicts were read
    signing_keys: TTLCache[str, LocalKey] = field(default_factory=lambda: TTLCache(ACTOR_TTL, 1000))
    _client: HttpClient | None = None

    @classmethod
    def create(cls, settings: Settings) -> Federation:
        return cls(settings=settings)

    @property
    def client(self) -> HttpClient:
        """The outgoing HTTP client, loaded with the first request a node makes: a node
        that nobody follows yet never pays the ~9 MB of the HTTP stack."""
        if self._client is None:
            from federation import client as http_client

            self._client = http_client.HttpClient(
                allow_private=self.settings.allow_private_addresses,
                user_agent=f"Nabuur/{__version__} (+{self.settings.public_url}/)",
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def signing_key(self, kind: str, key: int | None) -> LocalKey:
        """A local actor's key, kept for a few minutes: a fan-out signs with one key."""
        cache_key = f"{kind}:{key}"
        found = self.signing_keys.get(cache_key)
        if found is None:
            found = await local_key(self.settings, kind, key)
            self.signing_keys.put(cache_key, found)
        return found

    async def instance_key(self) -> LocalKey:
        """The instance actor's key, which signs our fetches."""
        return await self.signing_key(LocalActorKind.INSTANCE, None)

    def remember_actor(self, actor: RemoteActor) -> RemoteActor:
        self.actors_by_key.put(actor.key_id, actor)
        self.actors_by_uri.put(actor.uri, actor)
        return actor

    def forget_actor(self, uri: str) -> None:
        actor = self.actors_by_uri.get(uri)
        if actor is not None:
            self.actors_by_key.pop(actor.key_id)
        self.actors_by_uri.pop(uri)

    async def domain_allowed(self, domain: str) -> bool:
        """Whether we federate with `domain` now (mode, blocks and allowlist)."""
        if self.domain_generation != domain_policy.generation():
            self.domain_verdicts.clear()  # a rule or the mode changed in this process
            self.domain_generation = domain_policy.generation()
        verdict = self.domain_verdicts.get(domain)
        if verdict is None:
            verdict = await domain_policy.is_domain_allowed(self.settings, domain)
            self.domain_verdicts.put(domain, verdict)
        return verdict

    def key_failure(self, key_id: str) -> bool | None:
        """None unless fetching `key_id` failed in the last minutes; then whether that
        failure was temporary (the inbox answers 503 again, not 401, for a key whose
        host was only down: the sender retries instead of dropping the activity)."""
        found = self.failed_keys.get(key_id)
        if found is None:
            return None
        until, temporary = found
        if until < time.monotonic():
            del self.failed_keys[key_id]
            return None
        return temporary

    def remember_failed_key(self, key_id: str, *, temporary: bool = False) -> None:
        if len(self.failed_keys) > CACHE_LIMIT:  # bounded: a flood of bad ids cannot grow it
            self.failed_keys.clear()
        self.failed_keys[key_id] = (time.monotonic() + NEGATIVE_KEY_TTL, temporary)

    def may_refetch_actor(self, uri: str) -> bool:
        """At most one refetch a minute per actor: bad signatures cannot make us fetch."""
        now = time.monotonic()
        if now - self.refetched.get(uri, float("-inf")) < REFETCH_AFTER_FAILURE:
            return False
        if len(self.refetched) > CACHE_LIMIT:
            self.refetched.clear()
        self.refetched[uri] = now
        return True
