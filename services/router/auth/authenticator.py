"""From an ``Authorization``/``X-API-Key`` header to a :class:`Principal`, or a refusal.

``Authorization: Bearer <token>`` carries an API key or a JWT (told apart by shape);
``X-API-Key: <key>`` carries an API key. Tenant and user come from the credential alone.
Looked-up keys are cached for ``cache_ttl_s`` (revocation takes effect within that time);
unknown keys are not cached. Nothing here logs or returns a credential.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from services.router.auth import keys
from services.router.auth.jwt import JwtVerifier, TokenRejected
from services.router.domain.model import Principal, StoredKey
from services.router.errors import Forbidden, Unauthenticated
from services.router.ports import KeyStore

_CACHE_SIZE: Final = 10_000


class Authenticator:
    """Checks credentials against the key store and the JWT secret."""

    def __init__(
        self,
        store: KeyStore,
        jwt: JwtVerifier | None,
        *,
        monotonic: Callable[[], float],
        cache_ttl_s: float = 5.0,
    ) -> None:
        self._store = store
        self._jwt = jwt
        self._now = monotonic
        self._ttl = cache_ttl_s
        self._cache: OrderedDict[bytes, tuple[StoredKey, float]] = OrderedDict()

    async def authenticate(self, authorization: str | None, api_key: str | None) -> Principal:
        """The principal of a valid credential. Raises :class:`Unauthenticated` (missing,
        malformed, unknown, expired, bad signature), :class:`Forbidden` (revoked key) or
        ``StoreUnavailable``."""
        token = _bearer(authorization) if authorization else None
        if token is None and api_key:
            token = api_key.strip()
        if not token:
            raise Unauthenticated(
                "missing",
                "a credential is required: 'Authorization: Bearer <API key or JWT>' "
                "or 'X-API-Key: <API key>'",
            )
        if keys.looks_like_key(token):
            return await self._by_key(token)
        if token.count(".") == 2:
            return self._by_jwt(token)
        raise Unauthenticated("invalid", "the credential is neither an API key nor a JWT")

    async def _by_key(self, token: str) -> Principal:
        digest = keys.digest(token)
        stored = self._cached(digest)
        if stored is None:
            stored = await self._store.find(digest)
            if stored is None:
                raise Unauthenticated("unknown_key", "unknown API key")
            self._cache[digest] = (stored, self._now() + self._ttl)
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        if stored.revoked_at is not None:
            raise Forbidden(f"API key {stored.key_id} was revoked")
        return Principal(stored.tenant_id, stored.user_id, "api_key", f"key:{stored.key_id}")

    def _cached(self, digest: bytes) -> StoredKey | None:
        hit = self._cache.get(digest)
        if hit is None:
            return None
        if hit[1] <= self._now():
            del self._cache[digest]
            return None
        return hit[0]

    def _by_jwt(self, token: str) -> Principal:
        if self._jwt is None:
            raise Unauthenticated("jwt_disabled", "JWT authentication is not configured")
        try:
            claims = self._jwt.verify(token)
        except TokenRejected as exc:
            raise Unauthenticated(exc.reason, str(exc)) from None
        subject = f"jwt:{claims.tenant_id}:{claims.user_id}"
        return Principal(claims.tenant_id, claims.user_id, "jwt", subject)


def _bearer(header: str) -> str | None:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("invalid", "the Authorization header must be 'Bearer <credential>'")
    return value.strip()
