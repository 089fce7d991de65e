"""The credential check every gateway endpoint but health, readiness and metrics depends on.

Order: authenticate (401 missing/invalid, 403 revoked, 503 key store down), then spend one
token of the credential's rate-limit bucket (429 with ``Retry-After``). The request's hop
timer starts here, so ``Server-Timing`` covers authentication.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPBearer

from servicekit.logging import get_logger
from services.router.auth.authenticator import Authenticator
from services.router.auth.ratelimit import RateLimiter
from services.router.domain.model import Principal
from services.router.domain.timings import Hops
from services.router.errors import Forbidden, Unauthenticated
from services.router.metrics import RouterMetrics

# Declared for the OpenAPI document (and Swagger's "Authorize"); the check itself reads the
# raw headers, so a malformed one gets a precise message instead of a generic 403.
_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API key (tgi_…) or an HS256 JWT with tenant, sub and exp claims.",
)
_API_KEY = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="apiKey", description="An API key (tgi_…)."
)
_log = get_logger(__name__)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="tgint"'}

PrincipalDependency = Callable[..., Awaitable[Principal]]


def build_security(
    auth: Authenticator, limiter: RateLimiter, metrics: RouterMetrics
) -> PrincipalDependency:
    """The FastAPI dependency that yields the caller's :class:`Principal`."""

    async def principal(
        request: Request,
        _bearer: Annotated[object, Depends(_BEARER)] = None,
        _key: Annotated[object, Depends(_API_KEY)] = None,
    ) -> Principal:
        hops = Hops()
        request.state.hops = hops
        with hops.hop("auth"):
            try:
                who = await auth.authenticate(
                    request.headers.get("authorization"), request.headers.get("x-api-key")
                )
            except Unauthenticated as exc:
                metrics.auth_failures.labels(exc.reason).inc()
                _log.info("auth_refused", reason=exc.reason, path=request.url.path)
                raise HTTPException(401, str(exc), headers=CHALLENGE) from None
            except Forbidden as exc:
                metrics.auth_failures.labels("revoked").inc()
                _log.info("auth_refused", reason="revoked", path=request.url.path)
                raise HTTPException(403, str(exc)) from None
        wait = limiter.take(who.subject)
        if wait > 0:
            metrics.rate_limited.inc()
            _log.info("rate_limited", subject=who.subject, wait_s=round(wait, 2))
            raise HTTPException(
                429,
                f"rate limit of this credential exceeded; retry in {wait:.1f} s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        return who

    return principal
