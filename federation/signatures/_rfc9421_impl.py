"""RFC 9421 HTTP Message Signatures, in the profile Mastodon and Fedify use.

Signing covers "@method", "@target-uri", "@authority" and, with a body, "content-digest", with
the parameters created, keyid and alg="rsa-v1_5-sha256", under the label "sig1". The
cryptography and the signature base come from `http_message_signatures`; this module adds the
fediverse policy around it: which components must be covered, how fresh "created" must be, and
which of several signatures to check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import http_sf
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)

from .digest import (
    SignatureError,
    check_lowered_digest,
    check_time,
    from_timestamp,
    lower_headers,
    requires_digest,
    utc_now,
)

LABEL = "sig1"
ALGORITHM = algorithms.RSA_V1_5_SHA256
_COMPONENTS = ("@method", "@target-uri", "@authority")
_SIGNATURE_FIELDS = ("signature-input", "signature")


@dataclass
class _Request:
    """The request view http_message_signatures reads: method, URL and headers."""

    method: str
    url: str
    headers: dict[str, str]


class _OneKey(HTTPSignatureKeyResolver):
    """The caller has already fetched the key for the keyid (the library's lookup is sync)."""

    def __init__(self, key: RSAPrivateKey | RSAPublicKey) -> None:
        self.key = key

    def resolve_public_key(self, key_id: str) -> RSAPrivateKey | RSAPublicKey:
        return self.key

    def resolve_private_key(self, key_id: str) -> RSAPrivateKey | RSAPublicKey:
        return self.key


class _Verifier(HTTPMessageVerifier):
    """The library's verifier, with its clock replaced by ours.

    The library reads the wall clock and, by default, tolerates only 5 s into the future but a
    whole day into the past; fediverse servers accept `max_skew` (1 h) both ways.
    """

    def __init__(self, key: RSAPublicKey, now: datetime, max_skew: timedelta) -> None:
        super().__init__(signature_algorithm=ALGORITHM, key_resolver=_OneKey(key))
        self.now = now
        self.max_clock_skew = max_skew

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        # verify_rfc9421 has already run this check; repeating it here keeps the library's
        # own wall-clock version out of the way without disabling the check.
        _check_times(sig_input.params, self.now, self.max_clock_skew)


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
    """Return the headers to add: content-digest (with a body), signature-input, signature.

    Raises ValueError if the library refuses the request (for example a URL that is not
    percent-encoded).
    """
    given = lower_headers(headers)
    for name in _SIGNATURE_FIELDS:
        given.pop(name, None)
    message = _Request(method.upper(), url, given)
    signer = HTTPMessageSigner(signature_algorithm=ALGORITHM, key_resolver=_OneKey(private_key))
    try:
        signer.sign(
            message,
            key_id=key_id,
            created=utc_now(now),
            label=LABEL,
            covered_component_ids=_COMPONENTS,
            body=body,
            # An existing Content-Digest is checked against the body and reused.
            use_existing_digest="content-digest" in given,
        )
    except HTTPMessageSignaturesException as exc:
        raise ValueError(f"cannot sign this request: {exc}") from exc
    added = lower_headers(message.headers)
    wanted = ("content-digest", *_SIGNATURE_FIELDS) if body is not None else _SIGNATURE_FIELDS
    return {name: added[name] for name in wanted}


def rfc9421_key_id(headers: Mapping[str, str]) -> str | None:
    """The keyid of the signature verify_rfc9421 would check, or None."""
    try:
        _label, (_components, params), _signature = _select(lower_headers(headers))
    except SignatureError:
        return None
    return params["keyid"]


def rfc9421_signature(headers: Mapping[str, str]) -> bytes | None:
    """The bytes of the signature verify_rfc9421 would check (the same label), or None."""
    lowered = lower_headers(headers)
    try:
        label, _member, signature = _select(lowered)
        if signature is None:  # a single input: its label names it in Signature
            signature = _dictionary(lowered["signature"], "Signature").get(label)
    except SignatureError:
        return None
    value = signature[0] if isinstance(signature, tuple) else None
    return value if isinstance(value, bytes) else None


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
    """Raise SignatureError unless the request carries a valid, fresh RFC 9421 signature.

    `url` is the full URL the request was sent to, as the server reconstructs it
    (scheme://authority/path?query); "@target-uri" is checked against it.
    """
    lowered, now = lower_headers(headers), utc_now(now)
    label, member, signature = _select(lowered)
    components, params = member
    _check_policy([name for name, _ in components], params, method, body)
    _check_times(params, now, max_skew)
    if requires_digest(method, body):
        check_lowered_digest(lowered, body or b"")
    if signature is not None:
        # Hand the library only the chosen signature: with several, it insists on a signed tag.
        lowered["signature-input"] = http_sf.ser({label: member})
        lowered["signature"] = http_sf.ser({label: signature})
    verifier = _Verifier(public_key, now, max_skew)
    try:
        verifier.verify(_Request(method.upper(), url, lowered), max_age=None)
    except HTTPMessageSignaturesException as exc:
        # A bad RSA signature arrives with an empty message; other failures explain themselves.
        detail = f" ({exc})" if str(exc) else ""
        raise SignatureError(f"signature does not match{detail}") from exc


def _select(headers: Mapping[str, str]) -> tuple[str, Any, Any]:
    """The first signature whose input parses: (label, input member, signature member).

    With a single signature, as Mastodon and Fedify send, the signature member is None: the
    library parses that header anyway, and parsing it twice would cost a third of the time.
    """
    if "signature-input" not in headers:
        raise SignatureError("no signature")
    if "signature" not in headers:
        raise SignatureError("Signature-Input without Signature")
    inputs = _dictionary(headers["signature-input"], "Signature-Input")
    if len(inputs) == 1:
        label, member = next(iter(inputs.items()))
        if _usable_input(member):
            return label, member, None
    signatures = _dictionary(headers["signature"], "Signature")
    for label, member in inputs.items():
        signature = signatures.get(label)
        if _usable_input(member) and signature is not None and isinstance(signature[0], bytes):
            return label, member, signature
    raise SignatureError("no usable signature in Signature-Input")


def _dictionary(value: str, field: str) -> dict[str, Any]:
    try:
        parsed = http_sf.parse(value.encode(), tltype="dictionary")
    except (ValueError, UnicodeError) as exc:
        raise SignatureError(f"unparseable {field} header") from exc
    assert isinstance(parsed, dict)
    return parsed


def _usable_input(member: Any) -> bool:
    components, params = member
    return (
        isinstance(components, list)
        and all(isinstance(name, str) for name, _ in components)
        and isinstance(params.get("keyid"), str)
    )


def _check_policy(
    components: list[str], params: Mapping[str, Any], method: str, body: bytes | None
) -> None:
    if "@method" not in components:
        raise SignatureError("@method is not covered")
    if "@target-uri" not in components and not {"@authority", "@path"} <= set(components):
        raise SignatureError("neither @target-uri nor @authority and @path are covered")
    if requires_digest(method, body) and "content-digest" not in components:
        raise SignatureError("content-digest is not covered")
    if params.get("alg", ALGORITHM.algorithm_id) != ALGORITHM.algorithm_id:
        raise SignatureError(f"unsupported alg {params['alg']!r}")


def _check_times(params: Mapping[str, Any], now: datetime, max_skew: timedelta) -> None:
    created, expires = params.get("created"), params.get("expires")
    # type() rather than isinstance(): a Structured Field boolean is a Python bool, an int.
    if type(created) is not int:
        raise SignatureError("created is missing or not an integer")
    check_time("created", from_timestamp(created), now, max_skew)
    if expires is not None and (type(expires) is not int or from_timestamp(expires) < now):
        raise SignatureError("signature has expired")
