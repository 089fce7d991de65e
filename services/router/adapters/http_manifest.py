"""Run manifests from the digest service's HTTP API (it owns them)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from servicekit.auth import bearer_headers
from services.router.errors import DispatchFailed, ServiceTimeout


class HttpManifests:
    """:class:`~services.router.ports.ManifestSource` over ``GET {base}/v1/runs/{id}/manifest``."""

    def __init__(
        self, base_url: str, *, token: SecretStr | None = None, timeout_s: float = 2.0
    ) -> None:
        """``token`` is the digest API's bearer token (the deployment's internal token)."""
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout_s, headers=bearer_headers(token)
        )

    async def manifest(self, tenant_id: str, run_id: str) -> dict[str, Any] | None:
        path = f"/v1/runs/{quote(run_id, safe='')}/manifest"
        try:
            response = await self._http.get(path, params={"tenant_id": tenant_id})
        except httpx.TimeoutException:
            raise ServiceTimeout("the digest service did not answer in time") from None
        except httpx.HTTPError as exc:
            raise DispatchFailed(f"the digest service is unreachable: {exc!r}"[:300]) from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise DispatchFailed(f"the digest service answered HTTP {response.status_code}")
        body = response.json()
        if not isinstance(body, dict):
            raise DispatchFailed("the digest service answered with a non-object manifest")
        return body

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()


class NoManifests:
    """Used while no digest URL is configured: every run has no manifest here."""

    async def manifest(self, tenant_id: str, run_id: str) -> dict[str, Any] | None:
        return None
