"""Server-side request forgery guard for Nabuur's outgoing HTTP.

Remote servers hand us URLs (actor ids, inboxes, redirect targets). Without a guard, a
hostile server could make this node fetch its own admin pages, a cloud metadata endpoint or
anything else on the private network. This module decides which IP addresses may be
contacted (`is_public_address`) and checks hosts written as IP literals;
`federation.resolver` applies it to every DNS answer. This module imports no HTTP
library, so the errors and checks can be used without loading one.
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from urllib.parse import urlsplit

IPAddress = IPv4Address | IPv6Address


class FetchError(Exception):
    """An outgoing request failed: network error, timeout, refusal or unusable response.

    Defined here rather than in `federation.client` so that `UnsafeAddressError` can derive
    from it without a circular import; `federation.client` re-exports both.
    """

    def __init__(self, url: str, reason: str, *, status: int | None = None) -> None:
        # Only the URL, status and a short reason: never request headers (signatures).
        detail = reason if status is None else f"{reason} (status {status})"
        super().__init__(f"{detail}: {url}")
        self.url = url
        self.status = status
        self.reason = reason


class UnsafeAddressError(FetchError):
    """The target is, or resolves to, an address this node must not contact."""


# Never globally routable unicast (IANA special-purpose registries, RFC 6890 and later).
_BLOCKED_V4 = tuple(
    IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network", includes the unspecified address
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, includes cloud metadata endpoints
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation TEST-NET-1
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation TEST-NET-2
        "203.0.113.0/24",  # documentation TEST-NET-3
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes the broadcast address
    )
)

# Only 2000::/3 is allocated as global unicast; inside it these are not destinations.
_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
_BLOCKED_V6 = tuple(
    IPv6Network(net)
    for net in (
        "2001::/23",  # IETF protocol assignments, includes Teredo 2001::/32 and benchmarking
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
    )
)
_NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")  # embeds the IPv4 address in its last 32 bits
_SIX_TO_FOUR = IPv6Network("2002::/16")  # embeds the IPv4 address in bits 16-47

# With allow_private (development, tests, demo) these become reachable as well. Link-local
# (metadata endpoints), multicast, unspecified and odd embeddings stay refused even then.
_DEV_ALLOWED = (
    IPv4Network("127.0.0.0/8"),
    IPv4Network("10.0.0.0/8"),
    IPv4Network("172.16.0.0/12"),
    IPv4Network("192.168.0.0/16"),
    IPv4Network("100.64.0.0/10"),
    IPv6Network("::1/128"),
    IPv6Network("fc00::/7"),
)


def _is_public_v4(ip: IPv4Address) -> bool:
    return not any(ip in net for net in _BLOCKED_V4) and ip.is_global


def _embedded_v4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address a NAT64 or 6to4 address leads to, if it is one of those."""
    if ip in _NAT64_WELL_KNOWN:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    return None


def _is_public_v6(ip: IPv6Address) -> bool:
    embedded = _embedded_v4(ip)
    if embedded is not None:
        # Such a packet ends up at the embedded IPv4 host: judge that one.
        return _is_public_v4(embedded)
    # Outside 2000::/3 lie loopback, unspecified, IPv4-mapped and -compatible forms,
    # NAT64 local-use 64:ff9b:1::/48, discard, ULA, link-local, site-local and multicast.
    if ip not in _GLOBAL_UNICAST_V6 or any(ip in net for net in _BLOCKED_V6):
        return False
    return ip.is_global


def is_public_address(ip: IPv4Address | IPv6Address) -> bool:
    """Whether `ip` is globally routable unicast, the only kind a federating node may contact."""
    if isinstance(ip, IPv4Address):
        return _is_public_v4(ip)
    return _is_public_v6(ip)


def is_allowed_address(ip: IPAddress, *, allow_private: bool) -> bool:
    """The policy actually applied: public addresses, plus loopback/private ones in development."""
    if isinstance(ip, IPv6Address) and ip.scope_id:
        return False  # a zone ("fe80::1%eth0") only makes sense for link-local addresses
    if is_public_address(ip):
        return True
    if not allow_private:
        return False
    return any(ip.version == net.version and ip in net for net in _DEV_ALLOWED)


def _looks_numeric(host: str) -> bool:
    # aiohttp's own test for "this host is an IP literal, skip the resolver"; anything it
    # treats that way must be parsed and checked here, or refused.
    return ":" in host or host.replace(".", "").isdigit()


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a URL host spells numerically, or None when the host is a DNS name.

    Accepts bracketed IPv6 and every IPv4 spelling the C library accepts (2130706433,
    0x7f.1, 0177.0.0.1, 127.1), because that is how the connection would interpret them.
    Raises ValueError for a host that looks numeric but cannot be parsed.
    """
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in bare:
        return ip_address(bare.replace("%25", "%"))  # ValueError when malformed
    try:
        return IPv4Address(bare)
    except ValueError:
        pass
    try:
        return IPv4Address(socket.inet_aton(bare))
    except OSError:
        if _looks_numeric(bare):
            raise ValueError(f"unparseable numeric host {host!r}") from None
        return None


def check_literal_host(host: str, *, allow_private: bool) -> None:
    """Refuse a URL host that is an IP literal for an address we must not contact.

    aiohttp connects to IP literals without calling the resolver, so they are checked here,
    before any request is sent. DNS names pass and are checked by `SafeResolver`.
    """
    try:
        ip = parse_ip_literal(host)
    except ValueError:
        raise UnsafeAddressError(host, "malformed address") from None
    if ip is not None and not is_allowed_address(ip, allow_private=allow_private):
        raise UnsafeAddressError(host, f"address {ip} is not public")


def refusal(url: str, *, allow_private: bool) -> str | None:
    """Why the guard refuses `url` before any connection, or None when it may be tried.

    The same rules `federation.client` applies to each hop (scheme, plain http outside
    development, IP literals); a DNS name that resolves to a refused address is caught
    later, by `SafeResolver`, as an `UnsafeAddressError`. A refusal is permanent.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "malformed URL"
    if parts.scheme not in ("http", "https"):
        return "unsupported scheme"
    if parts.scheme == "http" and not allow_private:
        return "plain http is refused"
    if not host:
        return "no host"
    try:
        check_literal_host(host, allow_private=allow_private)
    except UnsafeAddressError as exc:
        return exc.reason
    return None
