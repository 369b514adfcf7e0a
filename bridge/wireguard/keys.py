"""WireGuard keys, made with ``cryptography`` and written exactly as ``wg genkey`` / ``wg pubkey`` /
``wg genpsk`` write them (base64 of 32 raw bytes; private keys clamped). Nothing here runs ``wg``.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bridge.errors import ConfigError


def _b64(raw: bytes) -> str:
    return base64.standard_b64encode(raw).decode("ascii")


def decode_key(value: str, what: str = "key") -> bytes:
    """The 32 raw bytes of a base64 WireGuard key, or a ConfigError."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ConfigError(
            f"invalid WireGuard {what}: {value[:8]!r}... is not base64 of 32 bytes",
            hint="use a key made by `wg genkey` / `wg pubkey` / `wg genpsk`",
        )
    return raw


def generate_private_key() -> str:
    """A new X25519 private key, base64 and clamped, exactly like ``wg genkey``."""
    raw = bytearray(
        X25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
    )
    raw[0] &= 248
    raw[31] = (raw[31] & 127) | 64
    return _b64(bytes(raw))


def public_key(private_key: str) -> str:
    """The public key of a base64 private key, like ``wg pubkey``."""
    key = X25519PrivateKey.from_private_bytes(decode_key(private_key, "private key"))
    return _b64(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def generate_preshared_key() -> str:
    """A new 32-byte preshared key, base64, like ``wg genpsk``."""
    return _b64(secrets.token_bytes(32))
