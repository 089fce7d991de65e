"""The credential on our internal REST APIs (memory, digest manifests, DLQ operations).

People reach the system through the router's gateway (API keys or JWTs that carry the
tenant). The other services' APIs are called by our own services (the router reads episodes
and manifests for a caller it already authenticated) and by operators (the DLQ CLI). Those
calls present a bearer token: the deployment's ``internal_token`` (``TGI_INTERNAL_TOKEN``,
shared by the services) or one of the service's ``api_tokens`` (comma-separated, e.g. one per
operator, or the next token during a rotation).

A service with no token configured refuses every guarded request (fail closed) and says
which variable to set. Tokens are kept only as SHA-256 digests and compared in constant
time; a refused request gets 401 with ``WWW-Authenticate: Bearer`` and never learns why a
token was wrong. ``/health``, ``/ready`` and ``/metrics`` are not guarded.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from fastapi import HTTPException, Request
from pydantic import SecretStr

MIN_TOKEN_CHARS = 16
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def split_tokens(internal: SecretStr | None, extra: SecretStr | None) -> list[str]:
    """The plain tokens of ``internal`` and the comma-separated ``extra`` (blanks dropped)."""
    found = [internal.get_secret_value()] if internal is not None else []
    if extra is not None:
        found += [t.strip() for t in extra.get_secret_value().split(",")]
    return [t for t in found if t]


def bearer_headers(token: SecretStr | str | None) -> dict[str, str]:
    """The ``Authorization`` header a client sends (none without a token)."""
    if token is None:
        return {}
    plain = token.get_secret_value() if isinstance(token, SecretStr) else token
    return {"Authorization": f"Bearer {plain}"}


class ApiGuard:
    """A FastAPI dependency admitting requests that present one of the accepted tokens."""

    def __init__(self, tokens: Iterable[str], *, missing_hint: str) -> None:
        self._digests = [_digest(t) for t in tokens]
        self._missing_hint = missing_hint

    @property
    def configured(self) -> bool:
        """Whether any token is accepted (else every guarded request is refused)."""
        return bool(self._digests)

    def admits(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value carries an accepted bearer token."""
        if not authorization:
            return False
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        presented = _digest(token.strip())
        # Compare with every accepted digest, so the time taken says nothing about which.
        matches = [hmac.compare_digest(presented, d) for d in self._digests]
        return any(matches)

    async def __call__(self, request: Request) -> None:
        if not self._digests:
            raise HTTPException(
                401, f"this API accepts no credential yet: {self._missing_hint}", _CHALLENGE
            )
        if not self.admits(request.headers.get("authorization")):
            raise HTTPException(401, "missing or invalid bearer token", _CHALLENGE)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
