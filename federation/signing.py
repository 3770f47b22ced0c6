"""Signing outgoing requests with a local actor's key, in either signature profile.

Deliveries sign in the threads of `federation.signing_pool` (`pooled_signer`): the event
loop sends the others meanwhile. Fetches sign on the loop (`signer`); there are few.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from federation import signing_pool
from federation.signatures import sign_cavage, sign_rfc9421
from federation.signing_types import AsyncSigner, Signer
from node import uris
from node.config import Settings
from node.errors import NotFound
from node.keys import load_private_key
from node.models import LocalActorKind, NodeSettings
from node.services import actor_keys, local_actors
from node.services.follows import THIS_NODE

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

Profile = Literal["cavage", "rfc9421"]


@dataclass(frozen=True, slots=True)
class LocalKey:
    """A local actor's key id and private key, loaded only when something is sent."""

    key_id: str
    private_key: RSAPrivateKey

    def signer(self, profile: Profile = "cavage") -> Signer:
        sign = sign_cavage if profile == "cavage" else sign_rfc9421

        def add_headers(
            method: str, url: str, headers: Mapping[str, str], body: bytes | None
        ) -> Mapping[str, str]:
            return sign(
                method=method,
                url=url,
                headers=headers,
                body=body,
                key_id=self.key_id,
                private_key=self.private_key,
            )

        return add_headers

    def pooled_signer(self, profile: Profile = "cavage") -> AsyncSigner:
        """The same signer, run in the signing threads so the event loop goes on."""
        sign = self.signer(profile)

        async def add_headers(
            method: str, url: str, headers: Mapping[str, str], body: bytes | None
        ) -> Mapping[str, str]:
            return await signing_pool.run(sign, method, url, headers, body)

        return add_headers


async def local_key(settings: Settings, kind: LocalActorKind | str, key: int | None) -> LocalKey:
    """The signing key of one of our actors (`key` is its id; None for the instance)."""
    actor = await local_actors.load(kind, key)
    holder = await NodeSettings.get(id=1) if actor is THIS_NODE else actor
    # A resident's key pair is made the first time they sign something (actor_keys).
    holder = await actor_keys.ensure(holder)
    if not holder.private_key_pem:
        raise NotFound(f"{kind} {key} has no key pair")
    actor_id = uris.absolute(settings, local_actors.path(actor))
    return LocalKey(uris.key_id(actor_id), load_private_key(holder.private_key_pem))
