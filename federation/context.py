"""The federation runtime of one node process: settings, the HTTP client, caches.

Created in the app's lifespan (the HTTP client needs a running loop) and kept on
`app.state.federation`; workers and route handlers receive it explicitly.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from federation.client import HttpClient
from federation.signing import LocalKey, Profile, local_key
from node import __version__
from node.config import Settings
from node.models import LocalActorKind

NEGATIVE_KEY_TTL = 300.0  # seconds a failed key look-up is remembered
REFETCH_AFTER_FAILURE = 60.0  # seconds between key refetches of one actor
CACHE_LIMIT = 10_000  # entries in each of these maps before it is emptied


@dataclass
class Federation:
    settings: Settings
    client: HttpClient
    # keyId -> monotonic time until which we do not try to fetch it again
    failed_keys: dict[str, float] = field(default_factory=dict)
    # actor uri -> monotonic time of its last refetch after a failed verification
    refetched: dict[str, float] = field(default_factory=dict)
    # host -> the signature profile that host accepted last ("double knock" memory)
    host_profiles: dict[str, Profile] = field(default_factory=dict)
    # Set when deliveries are queued or inbox items stored, so workers wake at once.
    deliveries_waiting: asyncio.Event = field(default_factory=asyncio.Event)
    inbox_waiting: asyncio.Event = field(default_factory=asyncio.Event)
    events_waiting: asyncio.Event = field(default_factory=asyncio.Event)
    _instance_key: LocalKey | None = None

    @classmethod
    def create(cls, settings: Settings) -> Federation:
        client = HttpClient(
            allow_private=settings.allow_private_addresses,
            user_agent=f"Nabuur/{__version__} (+{settings.public_url}/)",
        )
        return cls(settings=settings, client=client)

    async def close(self) -> None:
        await self.client.close()

    async def instance_key(self) -> LocalKey:
        """The instance actor's key, which signs our fetches."""
        if self._instance_key is None:
            self._instance_key = await local_key(self.settings, LocalActorKind.INSTANCE, None)
        return self._instance_key

    def key_recently_failed(self, key_id: str) -> bool:
        until = self.failed_keys.get(key_id)
        if until is None:
            return False
        if until < time.monotonic():
            del self.failed_keys[key_id]
            return False
        return True

    def remember_failed_key(self, key_id: str) -> None:
        if len(self.failed_keys) > CACHE_LIMIT:  # bounded: a flood of bad ids cannot grow it
            self.failed_keys.clear()
        self.failed_keys[key_id] = time.monotonic() + NEGATIVE_KEY_TTL

    def may_refetch_actor(self, uri: str) -> bool:
        """At most one refetch a minute per actor: bad signatures cannot make us fetch."""
        now = time.monotonic()
        if now - self.refetched.get(uri, float("-inf")) < REFETCH_AFTER_FAILURE:
            return False
        if len(self.refetched) > CACHE_LIMIT:
            self.refetched.clear()
        self.refetched[uri] = now
        return True
