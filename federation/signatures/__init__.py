"""HTTP request signatures for federation: draft-cavage (Mastodon) and RFC 9421.

Incoming requests are checked with `verify_cavage` or `verify_rfc9421`, chosen by
`signature_profile`; `key_id_of` names the key to fetch first, since verification itself is
synchronous and never touches the network. Outgoing requests get their headers from
`sign_cavage` or `sign_rfc9421`. Every verification failure is a `SignatureError` whose
`reason` is short enough to log or return to the sender.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from .cavage import cavage_key_id, cavage_signature, sign_cavage, verify_cavage
from .digest import (
    SignatureError,
    check_body_digest,
    lower_headers,
    sha256_content_digest,
    sha256_digest_header,
)
from .rfc9421 import rfc9421_key_id, rfc9421_signature, sign_rfc9421, verify_rfc9421

__all__ = [
    "SignatureError",
    "cavage_key_id",
    "cavage_signature",
    "check_body_digest",
    "key_id_of",
    "rfc9421_key_id",
    "rfc9421_signature",
    "sha256_content_digest",
    "sha256_digest_header",
    "sign_cavage",
    "sign_rfc9421",
    "signature_of",
    "signature_profile",
    "verify_cavage",
    "verify_rfc9421",
]


def signature_profile(headers: Mapping[str, str]) -> Literal["rfc9421", "cavage"] | None:
    """Which scheme signed the request: Signature-Input only exists in RFC 9421."""
    names = lower_headers(headers)
    if "signature-input" in names:
        return "rfc9421"
    if "signature" in names:
        return "cavage"
    return None


def key_id_of(headers: Mapping[str, str]) -> str | None:
    """The key id to fetch before verifying, whichever profile signed the request."""
    profile = signature_profile(headers)
    if profile == "rfc9421":
        return rfc9421_key_id(headers)
    if profile == "cavage":
        return cavage_key_id(headers)
    return None


def signature_of(headers: Mapping[str, str]) -> bytes | None:
    """The bytes of the signature that verification checks, whichever profile signed
    the request: what identifies one signed request, to accept it only once."""
    profile = signature_profile(headers)
    if profile == "rfc9421":
        return rfc9421_signature(headers)
    if profile == "cavage":
        return cavage_signature(headers)
    return None
