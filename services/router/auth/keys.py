"""API keys: ``tgi_<key id>_<secret>``, shown once, stored as a SHA-256 digest.

The key id (12 hex characters) is public: it names the key in listings, logs and revocation.
The secret part carries 256 random bits, so a fast hash suffices; a stolen table of digests
does not let anyone authenticate.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Final

PREFIX: Final = "tgi_"
_SHAPE: Final = re.compile(r"^tgi_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class NewKey:
    """A freshly generated key: the plaintext (print once), its id and its digest."""

    key: str
    key_id: str
    digest: bytes


def generate() -> NewKey:
    """A new random key."""
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    return NewKey(key=key, key_id=key_id, digest=digest(key))


def digest(key: str) -> bytes:
    """The stored form of ``key``: its SHA-256."""
    return hashlib.sha256(key.encode()).digest()


def looks_like_key(token: str) -> bool:
    """Whether ``token`` has the shape of one of our API keys (no lookup)."""
    return _SHAPE.match(token) is not None


def key_id_of(token: str) -> str | None:
    """The public id inside a well-formed key, else None."""
    match = _SHAPE.match(token)
    return match.group(1) if match else None
