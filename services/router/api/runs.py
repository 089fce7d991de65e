"""``GET /v1/runs/{id}``, ``GET /v1/runs/{id}/manifest``, ``POST /v1/digests``,
``GET /v1/digests/{id}``: runs of the caller (their tenant and user) only.

A run of another user or tenant is answered exactly like a run that does not exist (404),
so ids reveal nothing.
"""

# No ``from __future__ import annotations``: FastAPI must see the closure's dependency
# objects in the endpoint signatures, not strings it cannot resolve.
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import JSONResponse

from contracts.ids import new_event_id
from services.router.api.models import AcceptedResponse, DigestRequest, RunOut
from services.router.api.query import ERRORS
from services.router.api.security import PrincipalDependency
from services.router.domain.model import Principal, Run
from services.router.pipeline.smart import SmartDispatcher
from services.router.ports import ManifestSource, RunStore

RunId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="A run id as returned by the gateway.",
    ),
]
_GATEWAY_ERRORS = {k: v for k, v in ERRORS.items() if k != 413}


def build_router(
    runs: RunStore,
    dispatcher: SmartDispatcher,
    manifests: ManifestSource,
    principal: PrincipalDependency,
) -> APIRouter:
    """Run, digest and manifest endpoints."""
    router = APIRouter(prefix="/v1")
    who_dep = Depends(principal)
    not_found: dict[int | str, dict[str, Any]] = {
        404: {"description": "No such run for this caller."},
        **_GATEWAY_ERRORS,
    }

    async def owned(who: Principal, run_id: str, kind: str | None = None) -> Run:
        run = await runs.get(who.tenant_id, run_id)
        if run is None or run.user_id != who.user_id or (kind and run.kind != kind):
            what = f"{kind} run" if kind else "run"
            raise HTTPException(404, f"no {what} {run_id!r} of yours")
        return run

    @router.get("/runs/{run_id}", response_model=RunOut, responses=not_found, tags=["runs"])
    async def get_run(run_id: RunId, who: Annotated[Principal, who_dep]) -> RunOut:
        """A run's status and, once finished, its result."""
        return _out(await owned(who, run_id))

    @router.get("/runs/{run_id}/manifest", responses=not_found, tags=["runs"])
    async def get_manifest(run_id: RunId, who: Annotated[Principal, who_dep]) -> dict[str, Any]:
        """The run's manifest (references to every step's inputs and outputs), proxied from
        the digest service, which keeps them."""
        await owned(who, run_id)
        manifest = await manifests.manifest(who.tenant_id, run_id)
        if manifest is None:
            raise HTTPException(
                404,
                f"run {run_id!r} has no manifest: manifests are kept by the digest service "
                "for its runs, and it has none for this one",
            )
        return manifest

    @router.post(
        "/digests",
        status_code=202,
        response_model=AcceptedResponse,
        responses=_GATEWAY_ERRORS | {413: ERRORS[413]},
        tags=["digests"],
    )
    async def create_digest(
        body: DigestRequest, who: Annotated[Principal, who_dep]
    ) -> JSONResponse:
        """Ask for a digest; it is written asynchronously. Poll ``Location``."""
        run_id = new_event_id()
        await dispatcher.submit_digest(who, body.command(run_id, who.user_id))
        location = f"/v1/digests/{run_id}"
        accepted = AcceptedResponse(
            run_id=run_id, route="digest", status="running", answer="", location=location
        )
        return JSONResponse(
            accepted.model_dump(mode="json"), status_code=202, headers={"Location": location}
        )

    @router.get("/digests/{run_id}", response_model=RunOut, responses=not_found, tags=["digests"])
    async def get_digest(run_id: RunId, who: Annotated[Principal, who_dep]) -> RunOut:
        """A digest run: status, and the digest (``result``) once completed."""
        return _out(await owned(who, run_id, "digest"))

    return router


def _out(run: Run) -> RunOut:
    return RunOut(
        run_id=run.run_id,
        kind=run.kind,
        status=run.status,
        created_at=run.created_at,
        updated_at=run.updated_at,
        completed_at=run.completed_at,
        request=run.request,
        result=run.result,
        error=run.error,
    )
