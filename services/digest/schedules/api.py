"""REST API of digest schedules, one tenant per request (``?tenant_id=…``).

- ``POST /v1/schedules`` (a ``ScheduleSpec``) → 201 and the stored schedule; 409 when the
  user already has a schedule of that name; 422, with a message per bad field (window,
  cadence, time zone…), and nothing written, for bad input;
- ``GET /v1/schedules[?user_id=…]`` → ``{"items": [...]}``;
- ``GET /v1/schedules/{id}``, ``PATCH /v1/schedules/{id}`` (``{"enabled": bool}``),
  ``DELETE /v1/schedules/{id}`` (204) → 404 when the tenant has no such schedule.

Like the manifest endpoint, the tenant is a parameter: the API is internal (behind the
deployment's bearer token), called by the gateway for a caller it authenticated, or by
operators.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoint signatures.
import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import BaseModel, ConfigDict

from contracts.fields import TENANT_PATTERN, Id
from services.digest.errors import ScheduleExists
from services.digest.schedules.manage import Schedules
from services.digest.schedules.model import Schedule, ScheduleList, ScheduleSpec

Tenant = Annotated[str, Query(pattern=TENANT_PATTERN, max_length=64)]
ScheduleId = Annotated[uuid.UUID, Path()]


class ScheduleUpdate(BaseModel):
    """``PATCH /v1/schedules/{id}``: what may change in place. To change anything else,
    remove the schedule and add it again."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool


def build_router(schedules: Schedules) -> APIRouter:
    """The schedule endpoints over ``schedules``."""
    router = APIRouter(prefix="/v1/schedules", tags=["schedules"])

    @router.post("", status_code=201)
    async def add_schedule(spec: ScheduleSpec, tenant_id: Tenant) -> Schedule:
        """Add a schedule; its first slot is the first one after now."""
        try:
            return await schedules.add(tenant_id, spec)
        except ScheduleExists as exc:
            raise HTTPException(409, str(exc)) from None

    @router.get("")
    async def list_schedules(tenant_id: Tenant, user_id: Id | None = None) -> ScheduleList:
        """The tenant's schedules (one user's when ``user_id`` is given)."""
        return ScheduleList(items=await schedules.list(tenant_id, user_id))

    @router.get("/{schedule_id}")
    async def get_schedule(schedule_id: ScheduleId, tenant_id: Tenant) -> Schedule:
        """One schedule."""
        found = await schedules.get(tenant_id, str(schedule_id))
        if found is None:
            raise HTTPException(404, f"no schedule {schedule_id}")
        return found

    @router.patch("/{schedule_id}")
    async def update_schedule(
        schedule_id: ScheduleId, update: ScheduleUpdate, tenant_id: Tenant
    ) -> Schedule:
        """Enable or disable; an enabled schedule is next due at its first slot after now."""
        found = await schedules.set_enabled(tenant_id, str(schedule_id), update.enabled)
        if found is None:
            raise HTTPException(404, f"no schedule {schedule_id}")
        return found

    @router.delete("/{schedule_id}", status_code=204)
    async def remove_schedule(schedule_id: ScheduleId, tenant_id: Tenant) -> Response:
        """Remove a schedule (the digests it caused stay)."""
        if not await schedules.remove(tenant_id, str(schedule_id)):
            raise HTTPException(404, f"no schedule {schedule_id}")
        return Response(status_code=204)

    return router
