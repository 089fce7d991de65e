"""Managing schedules (the REST API and the CLI share this): add, list, get, remove,
enable, disable, always within one tenant.

A new schedule's first slot is the first one after now; enabling a disabled schedule moves
it to the first slot after now too (the slots it slept through are not run). Input is
validated completely (``ScheduleSpec``) before anything is written.
"""

from __future__ import annotations

import uuid

from pydantic import TypeAdapter

from contracts.fields import TenantId
from servicekit.clock import Clock
from services.digest.ports import ScheduleStore
from services.digest.schedules.model import Schedule, ScheduleSpec

_TENANT: TypeAdapter[str] = TypeAdapter(TenantId)


class Schedules:
    """The schedules of any tenant, one tenant per call."""

    def __init__(self, store: ScheduleStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def add(self, tenant_id: str, spec: ScheduleSpec) -> Schedule:
        """Store ``spec`` under a new id. Raises ``ScheduleExists`` (same user and name) and
        ``pydantic.ValidationError`` for a malformed tenant id."""
        _TENANT.validate_python(tenant_id)
        return await self._store.add(
            tenant_id,
            spec,
            schedule_id=str(uuid.uuid4()),
            next_due_at=spec.rule().next_after(self._clock.now()),
        )

    async def list(self, tenant_id: str, user_id: str | None = None) -> list[Schedule]:
        """The tenant's schedules, of one user when given."""
        return await self._store.list(tenant_id, user_id)

    async def get(self, tenant_id: str, schedule_id: str) -> Schedule | None:
        """One schedule, or None."""
        return await self._store.get(tenant_id, schedule_id)

    async def remove(self, tenant_id: str, schedule_id: str) -> bool:
        """Delete one; False when the tenant has no such schedule."""
        return await self._store.remove(tenant_id, schedule_id)

    async def set_enabled(self, tenant_id: str, schedule_id: str, enabled: bool) -> Schedule | None:
        """Enable or disable one; None when the tenant has no such schedule."""
        found = await self._store.get(tenant_id, schedule_id)
        if found is None:
            return None
        return await self._store.set_enabled(
            tenant_id,
            schedule_id,
            enabled,
            next_due_at=found.rule().next_after(self._clock.now()),
        )
