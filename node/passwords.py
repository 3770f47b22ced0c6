"""Password hashing with argon2id, run in a thread so the event loop keeps serving.

One hash or verify takes 140-280 ms of CPU on this class of machine. argon2 is loaded with
the first password hashed or checked, not at start-up.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@functools.cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so a missing account costs the
    same time as a wrong password and usernames cannot be probed by timing. Made on first
    use: a hash takes 64 MiB for a moment, which `nabuur run` should not pay at start."""
    return _hasher().hash("nabuur-dummy-password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher().hash, password)


def _verify(stored: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    return await asyncio.to_thread(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    return _hasher().check_needs_rehash(stored)
