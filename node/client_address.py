"""The address a request comes from, read through trusted reverse proxies and no others.

The rules, in order:

1. The *peer* is the address the connection comes from (the ASGI scope's `client`).
   Uvicorn runs with `proxy_headers=False` (see `node.cli`), so nothing before us
   rewrites it; this module is the only place that reads forwarded headers.
2. When the peer is not a trusted proxy (`NABUUR_TRUSTED_PROXIES`, none by default),
   the peer is the client and `X-Forwarded-For` is ignored entirely: anyone can send it.
3. When the peer is trusted, `X-Forwarded-For` (every header line, in order, joined
   with commas) is walked from the right. Each entry is the address the hop after it
   saw, so the first entry that is not itself a trusted proxy is the client. An entry
   that is not an IP address (empty, `unknown`, a name) stops the walk: nothing left of
   it can be believed, and the last trusted hop stands as the client. When every entry
   is trusted, the leftmost is the client. At most `MAX_HOPS` entries are read.
4. Entries may carry a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`), as some proxies
   write them; it is dropped. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a
   dual-stack socket reports for IPv4 peers) is read as the IPv4 address.
5. The answer is a normalised address (`ipaddress`'s spelling); the peer as given when
   it is not an IP address (a Unix socket, a test client); None when there is no peer.

`X-Forwarded-Proto` is not read: nothing needs the request's scheme, which is the one of
`NABUUR_BASE_URL` (cookies' Secure flag, signed URLs, federation).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

MAX_HOPS = 20

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


def parse_address(text: str) -> Address | None:
    """`text` as an IP address (a port and IPv4 mapping dropped), or None."""
    value = text.strip()
    port = ""
    if value.startswith("["):  # [v6] or [v6]:port
        value, _, rest = value[1:].partition("]")
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:] if rest else ""
    elif value.count(":") == 1:  # v4:port (a bare v6 address has at least two colons)
        value, _, port = value.partition(":")
    if port and not (port.isascii() and port.isdigit()):
        return None
    if "%" in value:  # a zone index names an interface of the sender, not a client
        return None
    try:
        address = ip_address(value)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=16)
def networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    """The networks of the setting, parsed once (the setting was validated at start-up)."""
    return tuple(ip_network(item, strict=False) for item in trusted)


def _is_trusted(address: Address, trusted: tuple[Network, ...]) -> bool:
    # `in` is simply False between IPv4 and IPv6.
    return any(address in network for network in trusted)


def resolve(peer: str | None, forwarded_for: Iterable[str], trusted: tuple[str, ...]) -> str | None:
    """The client's address from the peer and the `X-Forwarded-For` header lines."""
    if peer is None:
        return None
    current = parse_address(peer)
    if current is None:
        return peer
    proxies = networks(trusted)
    if not proxies or not _is_trusted(current, proxies):
        return str(current)
    hops = ",".join(forwarded_for).split(",")
    for raw in reversed(hops[-MAX_HOPS:]):
        hop = parse_address(raw)
        if hop is None:
            break
        current = hop
        if not _is_trusted(current, proxies):
            break
    return str(current)


def from_scope(scope: Any, trusted: tuple[str, ...]) -> str | None:
    """The client's address for an ASGI request (`request.scope`)."""
    client = scope.get("client")
    peer = str(client[0]) if client else None
    if not trusted:
        return resolve(peer, (), ())
    lines = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
    ]
    return resolve(peer, lines, trusted)
