"""draft-cavage-http-signatures-12, the `Signature` header most of the fediverse still speaks.

Written on `cryptography` rather than a library (see FACTS.md: `httpsig` checks neither the
date nor the body). The profile is Mastodon's: RSA-SHA256 (PKCS#1 v1.5) only, "hs2019" read as
RSA-SHA256, and a signature must cover (request-target), host, date (or (created)) and, for a
POST, the body digest. `cryptography` is imported by the functions that sign or verify, so
that it loads with the first signature rather than at start-up (about 6 MB of memory).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .digest import (
    SignatureError,
    check_lowered_digest,
    check_time,
    from_timestamp,
    lower_headers,
    requires_digest,
    sha256_digest_header,
    utc_now,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

# hs2019 means "derive the algorithm from the key"; fediverse keys are RSA, so it is RSA-SHA256.
_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
_PSEUDO_HEADERS = frozenset({"(request-target)", "(created)", "(expires)"})
# One `name="quoted string"` or `name=token` parameter and the whitespace around it. The quoted
# part is written as an unrolled loop: a per-character alternation is 4x slower on signatures.
_PARAM = re.compile(
    r"[ \t]*([A-Za-z][A-Za-z0-9_-]*)="
    r'(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([!#$%&\'*+.^_`|~0-9A-Za-z-]+))[ \t]*'
)
_ESCAPE = re.compile(r"\\(.)")
_NUMBER = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,6})?")


def sign_cavage(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: RSAPrivateKey,
    now: datetime | None = None,
) -> dict[str, str]:
    """Return the headers to add to a request: date (unless given), host, digest, signature.

    `url` must be already percent-encoded: its path and query are signed as they stand.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    given = lower_headers(headers)
    parts = urlsplit(url)
    added: dict[str, str] = {}
    if "date" not in given:
        added["date"] = format_datetime(utc_now(now).astimezone(UTC), usegmt=True)
    added["host"] = parts.netloc.rpartition("@")[2]
    names = ["(request-target)", "host", "date"]
    if body is not None:
        added["digest"] = sha256_digest_header(body)
        names.append("digest")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    text = _signing_string(names, {**given, **added}, {}, f"{method.lower()} {target}")
    signature = private_key.sign(text, padding.PKCS1v15(), hashes.SHA256())
    added["signature"] = (
        f'keyId="{_quote(key_id)}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return added


def cavage_key_id(headers: Mapping[str, str]) -> str | None:
    """The keyId of the `Signature` header, or None if there is none or it does not parse."""
    value = lower_headers(headers).get("signature")
    if value is None:
        return None
    try:
        return parse_signature_header(value).get("keyId")
    except SignatureError:
        return None


def cavage_signature(headers: Mapping[str, str]) -> bytes | None:
    """The signature bytes verify_cavage would check, or None if it has none."""
    value = lower_headers(headers).get("signature")
    if value is None:
        return None
    try:
        return _decode_signature(parse_signature_header(value))
    except (SignatureError, KeyError):
        return None


def verify_cavage(
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key: RSAPublicKey,
    now: datetime | None = None,
    max_skew: timedelta = timedelta(hours=1),
) -> None:
    """Raise SignatureError unless the request carries a valid, fresh, strong enough signature.

    `target` is the raw path plus "?query" exactly as received, never re-encoded.
    """
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    lowered = lower_headers(headers)
    if "signature" not in lowered:
        raise SignatureError("no signature")
    params = parse_signature_header(lowered["signature"])
    algorithm = _algorithm(params)
    signed = _signed_names(params, algorithm)
    _check_required(signed, method, body)
    _check_times(params, signed, lowered, utc_now(now), max_skew)
    for name in signed:
        if name not in _PSEUDO_HEADERS and name not in lowered:
            raise SignatureError(f"signed header {name} is missing")
    if "digest" in signed:
        check_lowered_digest(lowered, body or b"")
    signature = _decode_signature(params)
    if not isinstance(public_key, RSAPublicKey):
        raise SignatureError("the key is not an RSA key")
    _verify_rsa(public_key, signature, params, signed, lowered, method, target)


def parse_signature_header(value: str) -> dict[str, str]:
    """Parse `keyId="…",algorithm="…",headers="…",signature="…"` strictly."""
    params: dict[str, str] = {}
    position = 0
    while True:
        match = _PARAM.match(value, position)
        if match is None:
            raise SignatureError("unparseable Signature header")
        name, quoted, token = match.groups()
        if name in params:
            raise SignatureError(f"Signature header repeats {name}")
        if quoted is not None and "\\" in quoted:
            quoted = _ESCAPE.sub(r"\1", quoted)
        params[name] = token if quoted is None else quoted
        position = match.end()
        if position == len(value):
            return params
        if value[position] != ",":
            raise SignatureError("unparseable Signature header")
        position += 1


def _algorithm(params: Mapping[str, str]) -> str:
    for required in ("keyId", "signature"):
        if not params.get(required):
            raise SignatureError(f"Signature header has no {required}")
    # A missing algorithm is hs2019 (draft 12, section 2.1.3), as Mastodon reads it.
    algorithm = params.get("algorithm", "hs2019")
    if algorithm not in _ALGORITHMS:
        raise SignatureError(f"unsupported algorithm {algorithm!r}")
    return algorithm


def _signed_names(params: Mapping[str, str], algorithm: str) -> list[str]:
    # The default list when `headers` is absent follows draft 12 and Mastodon.
    default = "(created)" if algorithm == "hs2019" else "date"
    signed = params.get("headers", default).lower().split()
    for pseudo in ("(created)", "(expires)"):
        # Draft 12 section 2.3: these pseudo-headers are an error with rsa-* algorithms.
        if pseudo in signed and algorithm != "hs2019":
            raise SignatureError(f"{pseudo} cannot be signed with {algorithm}")
        if pseudo in signed and pseudo[1:-1] not in params:
            raise SignatureError(f"{pseudo} is signed but its parameter is missing")
    return signed


def _check_required(signed: list[str], method: str, body: bytes | None) -> None:
    for name in ("(request-target)", "host"):
        if name not in signed:
            raise SignatureError(f"{name} is not signed")
    if "date" not in signed and "(created)" not in signed:
        raise SignatureError("neither date nor (created) is signed")
    # Without a signed digest, anyone who saw one signed POST could replay it with a new body.
    if requires_digest(method, body) and "digest" not in signed:
        raise SignatureError("digest is not signed")


def _check_times(
    params: Mapping[str, str],
    signed: list[str],
    headers: Mapping[str, str],
    now: datetime,
    max_skew: timedelta,
) -> None:
    if "date" in signed:
        check_time("date", _http_date(headers.get("date")), now, max_skew)
    # Fedify checks created/expires whenever they are present; being stricter costs nothing.
    if "created" in params:
        check_time("created", _timestamp(params, "created"), now, max_skew)
    if "expires" in params and _timestamp(params, "expires") < now:
        raise SignatureError("signature has expired")


def _http_date(value: str | None) -> datetime:
    if value is None:
        raise SignatureError("signed header date is missing")
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise SignatureError("unparseable Date header") from exc
    # "-0000" gives a naive datetime; HTTP dates are always GMT.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _timestamp(params: Mapping[str, str], name: str) -> datetime:
    value = params[name]
    if not _NUMBER.fullmatch(value):
        raise SignatureError(f"{name} is not a Unix timestamp")
    return from_timestamp(float(value))


def _decode_signature(params: Mapping[str, str]) -> bytes:
    try:
        return base64.b64decode(params["signature"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("signature is not base64") from exc


def _verify_rsa(
    key: RSAPublicKey,
    signature: bytes,
    params: Mapping[str, str],
    signed: list[str],
    headers: Mapping[str, str],
    method: str,
    target: str,
) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    candidates = [target]
    if "?" in target:
        # Fedify, and Mastodon before 4.4, sign (request-target) without the query string;
        # Mastodon accepts both forms and so do we.
        candidates.append(target.partition("?")[0])
    for candidate in candidates:
        text = _signing_string(signed, headers, params, f"{method.lower()} {candidate}")
        try:
            key.verify(signature, text, padding.PKCS1v15(), hashes.SHA256())
            return
        except InvalidSignature:
            continue
    raise SignatureError("signature does not match")


def _signing_string(
    names: list[str], headers: Mapping[str, str], params: Mapping[str, str], request_target: str
) -> bytes:
    """The text that is signed: one "name: value" line per signed name (draft 12, 2.3)."""
    lines = []
    for name in names:
        if name == "(request-target)":
            value = request_target
        elif name in ("(created)", "(expires)"):
            value = params[name[1:-1]]
        else:
            value = headers[name]
        lines.append(f"{name}: {value}")
    return _to_bytes("\n".join(lines))


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _to_bytes(text: str) -> bytes:
    # ASGI servers decode header bytes as Latin-1, so encoding back that way restores the bytes
    # the sender signed; text that cannot be Latin-1 came from elsewhere and is sent as UTF-8.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
