"""Actor key pairs: RSA-2048, PEM, generated off the event loop.

Private keys stay in the database; only `public_key_pem` is ever published. `cryptography`
(about 6 MB of memory) is loaded with the first key generated or parsed, not at start-up:
an idle node signs and verifies nothing.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

KEY_BITS = 2048


def generate_key_pair_sync() -> tuple[str, str]:
    """(private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


async def generate_key_pair() -> tuple[str, str]:
    # Generation takes tens of milliseconds of CPU: keep the loop serving meanwhile.
    return await asyncio.to_thread(generate_key_pair_sync)


@functools.lru_cache(maxsize=1024)
def load_private_key(pem: str) -> RSAPrivateKey:
    """Parsed keys are cached: parsing a PEM costs more than signing with it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


@functools.lru_cache(maxsize=4096)
def load_public_key(pem: str) -> RSAPublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key
