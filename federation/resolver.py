"""The aiohttp resolver of the SSRF guard: only checked addresses reach the connector.

The connector connects only to what `SafeResolver` returns, so the address that was
checked is the address that gets connected to (no DNS rebinding gap).
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterable
from ipaddress import ip_address

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from federation.ssrf import IPAddress, UnsafeAddressError, is_allowed_address

Lookup = Callable[[str, int, socket.AddressFamily], Awaitable[list[ResolveResult]]]


def _result_address(result: ResolveResult) -> IPAddress | None:
    try:
        return ip_address(result["host"])
    except ValueError:
        return None  # not an address at all: never connect to it


def filter_results(
    host: str, results: Iterable[ResolveResult], *, allow_private: bool
) -> list[ResolveResult]:
    """Keep the resolved addresses that may be contacted; raise if none remain."""
    kept = []
    for result in results:
        ip = _result_address(result)
        if ip is not None and is_allowed_address(ip, allow_private=allow_private):
            kept.append(result)
    if not kept:
        raise UnsafeAddressError(host, "resolves to no public address")
    return kept


class SafeResolver(AbstractResolver):
    """Resolves like aiohttp's default threaded resolver, then drops unsafe addresses.

    The connector connects only to what this returns, so every connection, including each
    redirect hop, goes to an address that passed `is_allowed_address` after DNS resolution.
    `lookup` replaces the underlying resolution (tests use it to map test names to loopback).
    """

    def __init__(self, *, allow_private: bool, lookup: Lookup | None = None) -> None:
        self._allow_private = allow_private
        self._threaded: ThreadedResolver | None = None
        if lookup is None:
            self._threaded = ThreadedResolver()
            lookup = self._threaded.resolve
        self._lookup = lookup

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._lookup(host, port, family)
        return filter_results(host, results, allow_private=self._allow_private)

    async def close(self) -> None:
        if self._threaded is not None:
            await self._threaded.close()
