"""HTTP read API of the digest service: run manifests (proxied by the router's gateway).

``GET /v1/runs/{run_id}/manifest?tenant_id=…`` answers the stored manifest (references
only, at most 100 KB) or 404. The tenant is a parameter because only the gateway calls this,
after it checked that the caller owns the run.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoint signature.
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, HTTPException, Path, Query


class ManifestReader(Protocol):
    """Reads a run's manifest."""

    async def manifest(self, tenant_id: str, run_id: str) -> dict[str, Any] | None:
        """The manifest, or None."""
        ...


def build_router(reader: ManifestReader) -> APIRouter:
    """The manifest endpoint over ``reader``."""
    router = APIRouter(prefix="/v1", tags=["runs"])

    @router.get("/runs/{run_id}/manifest")
    async def get_manifest(
        run_id: Annotated[str, Path(min_length=1, max_length=128, pattern=r"^\S+$")],
        tenant_id: Annotated[str, Query(min_length=1, max_length=64)],
    ) -> dict[str, Any]:
        """The run's manifest; 404 when the digest service has none for it."""
        manifest = await reader.manifest(tenant_id, run_id)
        if manifest is None:
            raise HTTPException(404, f"no manifest for run {run_id!r}")
        return manifest

    return router
