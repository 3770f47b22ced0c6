"""Signed GETs of what is not public: a signature is accepted once, and only fresh.

Anyone who sees one signed fetch of a followers-only post (a proxy's log, a shared
cache, a compromised relay) could replay it while its date is accepted: an hour either
way for other requests. For a private document the window is narrowed to
`PRIVATE_FETCH_WINDOW` either way, and the signature is remembered (`used_tokens`, by a
hash of its bytes) once it was honoured, until it could no longer be accepted: a second
use is refused like any unauthorised fetch. Of two uses at the same moment, the unique
key lets one win.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from starlette.requests import Request

from federation.context import Federation
from federation.signatures import signature_of
from federation.verification import signed_request, verify_request
from node.models import RemoteActor
from node.services import used_tokens
from node.timeutil import utcnow

PRIVATE_FETCH_WINDOW = timedelta(minutes=5)


def signature_key(signature: bytes) -> str:
    """What is remembered of a used signature: a hash, 68 characters."""
    return "sig:" + hashlib.sha256(signature).hexdigest()


async def verify_fresh_fetch(fed: Federation, request: Request) -> RemoteActor:
    """The signer of a GET of something not public; raises Unauthorized unless the
    signature is valid and dated within `PRIVATE_FETCH_WINDOW` of now."""
    return await verify_request(
        fed, signed_request(fed, request, None), max_skew=PRIVATE_FETCH_WINDOW
    )


async def first_use(request: Request) -> bool:
    """Record that the (verified) signature of `request` was honoured; False when it
    was before. Called only once access is granted: a refused fetch uses up nothing."""
    signature = signature_of(request.headers)
    if signature is None:
        return False
    # Dated at most one window ahead of now, it is accepted until one window after
    # that date: remembered that long, a replay is always caught.
    valid_until = utcnow() + 2 * PRIVATE_FETCH_WINDOW
    return await used_tokens.use_once(signature_key(signature), valid_until)
