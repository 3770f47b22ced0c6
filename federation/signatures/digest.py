"""Body digests (Digest, RFC 3230; Content-Digest, RFC 9530) and what both profiles share.

A signature covers a digest header, not the body itself, so an inbox must also check that the
header matches the bytes it received. This module does that, and also holds the small pieces the
draft-cavage and RFC 9421 modules both need (the error type, header normalisation and the clock
check), so that neither profile has to import the other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

# Algorithms we verify. Both profiles use the same digest for the same body.
_HASHES: dict[str, Callable[[bytes], bytes]] = {
    "sha-256": lambda data: hashlib.sha256(data).digest(),
    "sha-512": lambda data: hashlib.sha512(data).digest(),
}
# Names from the RFC 3230 and RFC 9530 registries that are broken or not cryptographic at all:
# a match with these proves nothing, so a header offering only these is refused.
_WEAK = frozenset({"md5", "sha", "sha1", "sha-1", "unixsum", "unixcksum", "adler32", "crc32c"})


class SignatureError(Exception):
    """A request signature or body digest is missing, malformed, stale or wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lowercase the names and join repeated fields with ", " (RFC 9110 section 5.3).

    Iterating `items()` keeps every line of multi-dicts (Starlette's Headers, aiohttp's
    CIMultiDict), where `headers[name]` would return only the first one.
    """
    joined: dict[str, str] = {}
    for name, value in headers.items():
        key, value = name.lower(), value.strip()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


def requires_digest(method: str, body: bytes | None) -> bool:
    """Whether a request must carry a signed digest: every POST, and anything with a body."""
    return method.upper() == "POST" or bool(body)


def check_time(name: str, when: datetime, now: datetime, max_skew: timedelta) -> None:
    """Refuse `when` if it is further than `max_skew` from `now`, in either direction."""
    drift = now - when
    if drift > max_skew:
        raise SignatureError(f"{name} is {describe(drift)} old")
    if -drift > max_skew:
        raise SignatureError(f"{name} is {describe(-drift)} in the future")


def utc_now(now: datetime | None) -> datetime:
    """The injected time (naive means UTC), or the wall clock."""
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def from_timestamp(seconds: float) -> datetime:
    """A Unix timestamp as a UTC datetime, clamped to what datetime can hold."""
    # Headers may carry 15-digit numbers; clamping keeps them comparable instead of crashing.
    return datetime.fromtimestamp(max(min(seconds, 253402300799), -62135596800), UTC)


def describe(delta: timedelta) -> str:
    """A rough human duration for error messages: "90 seconds", "2 hours"."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size} {unit}s"
    return f"{seconds} seconds"


def sha256_digest_header(body: bytes) -> str:
    """The `Digest` header value Mastodon sends and expects: "SHA-256=<base64>"."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def sha256_content_digest(body: bytes) -> str:
    """The RFC 9530 `Content-Digest` header value: "sha-256=:<base64>:"."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def check_body_digest(headers: Mapping[str, str], body: bytes) -> None:
    """Check `Digest` and/or `Content-Digest` against `body`; raise SignatureError if wrong.

    At least one header must be present and every present one must match. Within a header,
    every SHA-256/SHA-512 member must match; other members are ignored as Mastodon and Fedify
    do, but a header offering only weak or unknown algorithms is refused.
    """
    check_lowered_digest(lower_headers(headers), body)


def check_lowered_digest(lowered: Mapping[str, str], body: bytes) -> None:
    """check_body_digest for headers that went through lower_headers already."""
    digest, content_digest = lowered.get("digest"), lowered.get("content-digest")
    if digest is None and content_digest is None:
        raise SignatureError("no Digest or Content-Digest header")
    if digest is not None:
        _check_members("Digest", _parse_digest(digest), body)
    if content_digest is not None:
        _check_members("Content-Digest", _parse_content_digest(content_digest), body)


def _parse_digest(value: str) -> list[tuple[str, bytes | None]]:
    """Split "SHA-256=abc=,MD5=xyz" into (algorithm, decoded digest) pairs."""
    members: list[tuple[str, bytes | None]] = []
    for member in value.split(","):
        algorithm, equals, encoded = member.strip().partition("=")
        if not equals or not algorithm:
            raise SignatureError("malformed Digest header")
        algorithm = algorithm.lower()
        members.append((algorithm, _b64(encoded) if algorithm in _HASHES else None))
    return members


def _b64(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("Digest value is not base64") from exc


def _parse_content_digest(value: str) -> list[tuple[str, bytes | None]]:
    """Parse the Structured Field dictionary "sha-256=:abc=:, sha-512=:def=:"."""
    try:
        import http_sf  # only Content-Digest needs it: loaded with the first one (~2 MB)

        parsed = http_sf.parse(value.encode(), tltype="dictionary")
    except (ValueError, UnicodeError) as exc:
        raise SignatureError("malformed Content-Digest header") from exc
    assert isinstance(parsed, dict)
    members: list[tuple[str, bytes | None]] = []
    for algorithm, (digest, _params) in parsed.items():
        if algorithm in _HASHES and not isinstance(digest, bytes):
            raise SignatureError(f"Content-Digest {algorithm} is not a byte sequence")
        members.append((algorithm, digest if algorithm in _HASHES else None))
    return members


def _check_members(header: str, members: list[tuple[str, bytes | None]], body: bytes) -> None:
    strong: list[tuple[str, bytes]] = [(n, d) for n, d in members if d is not None]
    if not strong:
        offered = ", ".join(name for name, _ in members) or "nothing"
        kind = "weak" if any(name in _WEAK for name, _ in members) else "unsupported"
        raise SignatureError(f"{kind} digest algorithm in {header} ({offered})")
    for name, digest in strong:
        # Constant time, so a forger cannot learn the expected digest byte by byte.
        if not hmac.compare_digest(digest, _HASHES[name](body)):
            raise SignatureError(f"{header} {name} does not match the body")
