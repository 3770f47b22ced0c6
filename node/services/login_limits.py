"""Limits on logging in that slow guessing down without locking the owners out.

Every failed log-in is a row in `login_failures` (so all server processes count
together) under one of these keys; the address is the client's (`node.client_address`),
an IPv6 client's counted by its /64, which one machine can hop around in at will (as
Mastodon and GoToSocial count them):

- `pair:<address>|<name>`: a failure for this account name (its hash: people type
  passwords there too) from this address;
- `device:<id>`: a failure from a known device of the account (instead of the above);
- `account:<name>`: a failure for this account name from anything but a known device.

A **known device** is a browser that logged in to the account before: each successful
log-in sets a cookie that names the account and when it was issued, signed with HMAC-SHA256
under a key derived from the node's secret key, valid for `DEVICE_LIFETIME` (a cookie
remembers up to `DEVICE_ENTRIES` accounts, for a family computer). It proves nothing about
the password; it only shows that failures elsewhere are someone else's.

An attempt is refused (`RateLimited`, with the seconds to wait) when:

1. **Progressive delay, per pair** (per device for a known device): within `PAIR_WINDOW`
   the first `PAIR_FREE` failures cost nothing; after the 3rd the next attempt waits
   1 s from the last failure, after the 4th 2 s, then 4, 8, 16, ... doubling up to
   `PAIR_CAP` (15 minutes, reached after the 13th). This also holds for known devices,
   on their own count, so a stolen cookie buys no fast guessing.
2. **Per account**: `PER_ACCOUNT` failures for the name from other than known devices
   within `ACCOUNT_WINDOW` refuse further attempts from other than its known devices,
   until the oldest of them is out of the window.
3. **Per address** (credential stuffing): once failures from an address named
   `PER_ADDRESS` different accounts within `ADDRESS_WINDOW`, it may try no *other*
   names until the window lets one go; names it already tried stay under rules 1 and 2
   (thirty people mistyping in one neighbourhood house are not shut out of their own
   accounts), and a known device is not refused by this rule.

So the right password from a known device is never refused because of failures from
other addresses or devices, or because of the address count; only its own failures
delay it. A refused attempt is not a failure (the password is not even checked).

A success clears the failures of its own pair (or device) only: the account and address
counts run out with their windows, so a success in between gives an attacker no fresh
budget. `purge_old` (run by the scheduler) drops rows older than the longest window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from datetime import datetime, timedelta
from ipaddress import IPv6Address, ip_network

from node.client_address import parse_address
from node.errors import RateLimited
from node.models import LoginFailure
from node.timeutil import utcnow

PAIR_FREE = 3
PAIR_WINDOW = timedelta(hours=1)
PAIR_CAP = 15 * 60  # seconds
PER_ACCOUNT = 10
ACCOUNT_WINDOW = timedelta(minutes=15)
PER_ADDRESS = 30
ADDRESS_WINDOW = timedelta(minutes=15)
KEEP = max(PAIR_WINDOW, ACCOUNT_WINDOW, ADDRESS_WINDOW)

DEVICE_LIFETIME = timedelta(days=365)
DEVICE_ENTRIES = 5
_ENTRY = re.compile(r"([a-f0-9]{32})\.([0-9]{1,12})\.([A-Za-z0-9_-]{32})")
_FUTURE_SLACK = 60  # seconds: clocks of several processes differ a little


def delay(failures: int) -> int:
    """Seconds to wait after the last of `failures` failures of one pair (rule 1)."""
    if failures < PAIR_FREE:
        return 0
    return min(2 ** min(failures - PAIR_FREE, 20), PAIR_CAP)


def name_key(username: str | None) -> str:
    # Hashed: people sometimes type their password in the user name field, and these
    # rows live for an hour.
    typed = (username or "").strip().lower()[:100]
    return hashlib.sha256(typed.encode()).hexdigest()[:32]


def _address_key(address: str) -> str:
    parsed = parse_address(address)
    if parsed is None:  # not an IP address (a Unix socket): as given
        return address[:60]
    if isinstance(parsed, IPv6Address):
        return str(ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _pair_prefix(address: str | None) -> str:
    return "pair:" + (_address_key(address) if address else "unknown") + "|"


def _keys(username: str | None, address: str | None, device: str | None) -> tuple[str, str]:
    """The key of this attempt's own count (pair or device), and the account's key."""
    name = name_key(username)
    own = f"device:{device}" if device else _pair_prefix(address) + name
    return own, "account:" + name


def _seconds(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


async def _pair_wait(key: str, now: datetime) -> int:
    recent = (
        await LoginFailure.filter(key=key, at__gt=now - PAIR_WINDOW)
        .order_by("-at")
        .limit(PAIR_FREE + 20)
        .values_list("at", flat=True)
    )
    pause = delay(len(recent))
    if not pause or recent[0] + timedelta(seconds=pause) <= now:
        return 0
    return _seconds(recent[0] + timedelta(seconds=pause), now)


async def _account_wait(key: str, now: datetime) -> int:
    recent = (
        await LoginFailure.filter(key=key, at__gt=now - ACCOUNT_WINDOW)
        .order_by("-at")
        .limit(PER_ACCOUNT)
        .values_list("at", flat=True)
    )
    if len(recent) < PER_ACCOUNT:
        return 0
    return _seconds(recent[-1] + ACCOUNT_WINDOW, now)


async def _address_wait(address: str | None, own: str, now: datetime) -> int:
    if not address:
        return 0
    rows = await LoginFailure.filter(
        key__startswith=_pair_prefix(address), at__gt=now - ADDRESS_WINDOW
    ).values_list("key", "at")
    latest: dict[str, datetime] = {}
    for key, at in rows:
        latest[key] = max(at, latest.get(key, at))
    if own in latest or len(latest) < PER_ADDRESS:
        return 0
    # Under the limit again once the PER_ADDRESS-th most recent name leaves the window.
    return _seconds(sorted(latest.values(), reverse=True)[PER_ADDRESS - 1] + ADDRESS_WINDOW, now)


async def check(
    username: str | None,
    address: str | None,
    device: str | None = None,
    now: datetime | None = None,
) -> None:
    """Raise RateLimited when this attempt must wait; `device` is from `known_device`."""
    now = now or utcnow()
    own, account = _keys(username, address, device)
    wait = await _pair_wait(own, now)
    if device is None:
        wait = max(wait, await _account_wait(account, now), await _address_wait(address, own, now))
    if wait:
        raise RateLimited("too many failed log-ins", retry_after=wait)


async def record_failure(
    username: str | None,
    address: str | None,
    device: str | None = None,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    own, account = _keys(username, address, device)
    rows = [LoginFailure(key=own, at=now)]
    if device is None:
        rows.append(LoginFailure(key=account, at=now))
    await LoginFailure.bulk_create(rows)


async def record_success(
    username: str | None, address: str | None, device: str | None = None
) -> None:
    own, _ = _keys(username, address, device)
    await LoginFailure.filter(key=own).delete()


async def purge_old(now: datetime | None = None) -> int:
    return await LoginFailure.filter(at__lte=(now or utcnow()) - KEEP).delete()


def device_key(secret: str) -> bytes:
    """The key that signs known-device cookies, derived from the node's secret key."""
    return hashlib.sha256(b"nabuur-known-device\0" + secret.encode()).digest()


def _mac(key: bytes, name: str, issued: int) -> str:
    digest = hmac.new(key, f"{name}.{issued}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def _verified(entry: str, key: bytes, now: int) -> tuple[str, str] | None:
    """(account name, device id) of a genuine, unexpired cookie entry; else None."""
    found = _ENTRY.fullmatch(entry)
    if found is None:
        return None
    name, issued, mac = found.group(1), int(found.group(2)), found.group(3)
    if not -_FUTURE_SLACK <= now - issued <= DEVICE_LIFETIME.total_seconds():
        return None
    if not hmac.compare_digest(mac.encode(), _mac(key, name, issued).encode()):
        return None
    return name, mac[:22]


def _entries(cookie: str | None) -> list[str]:
    return (cookie or "")[:1000].split("~")[:DEVICE_ENTRIES]


def known_device(
    cookie: str | None, username: str | None, key: bytes, now: datetime | None = None
) -> str | None:
    """The device id when `cookie` shows this browser logged in to `username` before."""
    stamp = int((now or utcnow()).timestamp())
    for entry in _entries(cookie):
        found = _verified(entry, key, stamp)
        if found is not None and found[0] == name_key(username):
            return found[1]
    return None


def remember_device(
    cookie: str | None, username: str, key: bytes, now: datetime | None = None
) -> str:
    """The cookie value after a successful log-in to `username`: a fresh entry for it
    first, then the genuine entries of other accounts this browser logged in to."""
    stamp = int((now or utcnow()).timestamp())
    name = name_key(username)
    kept = [
        entry
        for entry in _entries(cookie)
        if (found := _verified(entry, key, stamp)) is not None and found[0] != name
    ]
    return "~".join([f"{name}.{stamp}.{_mac(key, name, stamp)}", *kept][:DEVICE_ENTRIES])
