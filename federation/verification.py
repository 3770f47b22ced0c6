"""Checking who sent a request: HTTP signature in either profile, resolved to an actor.

The signer must then be the activity's actor; the inbox checks that. A failure with a
cached key triggers one refetch of the actor, since the key may have been rotated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request

from federation.actors import ActorUnavailable, actor_for_key
from federation.context import Federation
from federation.signatures import (
    SignatureError,
    key_id_of,
    signature_profile,
    verify_cavage,
    verify_rfc9421,
)
from node.keys import load_public_key
from node.models import RemoteActor
from node.services.remote_actors import MAX_URI_LENGTH


class Unauthorized(Exception):
    def __init__(self, reason: str, *, temporary: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary


@dataclass(frozen=True, slots=True)
class SignedRequest:
    method: str
    target: str  # raw path and query as received
    url: str  # the URL the sender addressed: our public origin + target
    headers: Mapping[str, str]
    body: bytes | None


def signed_request(fed: Federation, request: Request, body: bytes | None) -> SignedRequest:
    """What the sender signed: the raw path and query as received, on our public origin."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    target = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
    return SignedRequest(
        method=request.method,
        target=target,
        url=fed.settings.public_url + target,
        headers=request.headers,
        body=body,
    )


def _verify_with(
    actor: RemoteActor, request: SignedRequest, profile: str, max_skew: timedelta | None
) -> None:
    # Imported here: `cryptography` is loaded with the first key, not at start-up.
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        public_key = load_public_key(actor.public_key_pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SignatureError("the actor's key is not an RSA key") from exc
    window = {} if max_skew is None else {"max_skew": max_skew}  # else the profile's own
    if profile == "rfc9421":
        verify_rfc9421(
            method=request.method,
            url=request.url,
            headers=request.headers,
            body=request.body,
            public_key=public_key,
            **window,
        )
    else:
        verify_cavage(
            method=request.method,
            target=request.target,
            headers=request.headers,
            body=request.body,
            public_key=public_key,
            **window,
        )


async def verify_request(
    fed: Federation, request: SignedRequest, *, max_skew: timedelta | None = None
) -> RemoteActor:
    """The actor whose key signed `request`; raises Unauthorized with a short reason.

    `max_skew` narrows how far the signed time may be from now (default: an hour)."""
    profile = signature_profile(request.headers)
    if profile is None:
        raise Unauthorized("no signature")
    key_id = key_id_of(request.headers)
    if not key_id:
        raise Unauthorized("signature has no usable keyId")
    if len(key_id) > MAX_URI_LENGTH:  # no actor we could store has such a key
        raise Unauthorized("keyId too long")
    try:
        actor = await actor_for_key(fed, key_id)
    except ActorUnavailable as exc:
        raise Unauthorized(f"key {exc.reason}", temporary=exc.temporary) from exc
    try:
        _verify_with(actor, request, profile, max_skew)
        return actor
    except SignatureError as first:
        if not fed.may_refetch_actor(actor.uri):
            raise Unauthorized(first.reason) from first
        try:
            actor = await actor_for_key(fed, key_id, refresh=True)
            _verify_with(actor, request, profile, max_skew)
            return actor
        except ActorUnavailable as exc:
            raise Unauthorized(f"key {exc.reason}", temporary=exc.temporary) from exc
        except SignatureError as second:
            raise Unauthorized(second.reason) from second
