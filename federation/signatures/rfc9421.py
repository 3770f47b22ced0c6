"""RFC 9421 HTTP Message Signatures: the entry points, loading the implementation on use.

The implementation (`_rfc9421_impl`) needs `http_message_signatures` and `http_sf`, about
6 MB of memory; a node loads them with the first RFC 9421 request it signs or checks,
not at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey


def _impl() -> Any:
    from federation.signatures import _rfc9421_impl

    return _rfc9421_impl


def sign_rfc9421(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: RSAPrivateKey,
    now: datetime | None = None,
) -> dict[str, str]:
    """Headers to add: content-digest (with a body), signature-input, signature."""
    return _impl().sign_rfc9421(
        method=method,
        url=url,
        headers=headers,
        body=body,
        key_id=key_id,
        private_key=private_key,
        now=now,
    )


def rfc9421_key_id(headers: Mapping[str, str]) -> str | None:
    """The keyid of the signature verify_rfc9421 would check, or None."""
    return _impl().rfc9421_key_id(headers)


def rfc9421_signature(headers: Mapping[str, str]) -> bytes | None:
    """The bytes of the signature verify_rfc9421 would check, or None."""
    return _impl().rfc9421_signature(headers)


def verify_rfc9421(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key: RSAPublicKey,
    now: datetime | None = None,
    max_skew: timedelta = timedelta(hours=1),
) -> None:
    """Raise SignatureError unless the request carries a valid, fresh RFC 9421 signature."""
    _impl().verify_rfc9421(
        method=method,
        url=url,
        headers=headers,
        body=body,
        public_key=public_key,
        now=now,
        max_skew=max_skew,
    )
