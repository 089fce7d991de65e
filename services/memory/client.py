"""A client of the memory read API for other services (the router's follow-up questions).

Memory is an optional input to them: every method returns ``None`` when memory did not
answer in time or answered with an error, and never raises. Calls are bounded by one total
deadline (300 ms by default, connect included), and after a failure the client stays quiet
for ``cooldown_s`` — it returns ``None`` at once rather than make every request of a caller
wait for a service that is down.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from contracts.v1.lifecycle import LifecycleKind
from servicekit.auth import bearer_headers
from servicekit.clock import Clock, SystemClock
from servicekit.logging import get_logger
from services.memory.schemas import EpisodeOut, EpisodePage

_log = get_logger(__name__)


class MemoryClient:
    """Reads episodes over HTTP; failures become ``None``, never exceptions."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 0.3,
        cooldown_s: float = 2.0,
        token: SecretStr | str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        """``token`` is the memory API's bearer token (the deployment's internal token)."""
        self._timeout_s = timeout_s
        self._cooldown_s = cooldown_s
        self._clock: Clock = clock or SystemClock()
        self._quiet_until = float("-inf")
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout_s,
            transport=transport,
            headers=bearer_headers(token),
        )

    async def recent(
        self,
        tenant_id: str,
        *,
        run_id: str | None = None,
        kind: LifecycleKind | None = None,
        service: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[EpisodeOut] | None:
        """The tenant's latest episodes (newest first, ``limit`` ≤ 1000), or None when memory
        is unavailable. ``since``/``until`` must be timezone-aware."""
        params: dict[str, Any] = {"tenant_id": tenant_id, "limit": limit}
        optional = {"run_id": run_id, "kind": kind, "service": service}
        params.update({k: v for k, v in optional.items() if v is not None})
        for name, when in (("since", since), ("until", until)):
            if when is not None:
                params[name] = when.isoformat()
        page = await self._get("/v1/episodes", params)
        return None if page is None else list(page.items)

    async def timeline(
        self, tenant_id: str, run_id: str, *, limit: int = 1000
    ) -> list[EpisodeOut] | None:
        """The run's episodes, oldest first (at most ``limit`` ≤ 1000), or None when memory
        is unavailable."""
        path = f"/v1/runs/{quote(run_id, safe='')}/timeline"
        page = await self._get(path, {"tenant_id": tenant_id, "limit": limit})
        return None if page is None else list(page.items)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> MemoryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _get(self, path: str, params: dict[str, Any]) -> EpisodePage | None:
        if self._clock.monotonic() < self._quiet_until:
            return None
        try:
            # httpx's timeout bounds each phase (connect, read…); this bounds the whole call.
            async with asyncio.timeout(self._timeout_s):
                response = await self._http.get(path, params=params)
        except Exception as exc:  # the contract is "never raises": memory is optional
            self._quiet_until = self._clock.monotonic() + self._cooldown_s
            _log.warning("memory_unavailable", path=path, error=repr(exc)[:200])
            return None
        if response.status_code >= 500:
            self._quiet_until = self._clock.monotonic() + self._cooldown_s
        if response.status_code != 200:
            # A 4xx is our caller's mistake, not an outage: no cool-down, but say what it was.
            _log.warning(
                "memory_request_failed",
                path=path,
                status=response.status_code,
                body=response.text[:300],
            )
            return None
        try:
            return EpisodePage.model_validate_json(response.content)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            _log.warning("memory_bad_response", path=path, error=str(exc)[:300])
            return None
