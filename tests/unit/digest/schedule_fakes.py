"""Hand-written fakes of the schedule ports: a store whose claim behaves like the Postgres
one (due rows locked until the claim ends, advances applied only on a clean exit), and a
request publisher that records what it published and can be told to fail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contracts.v1.digest import GenerateDigest
from services.digest.errors import ScheduleExists
from services.digest.schedules.model import Firing, Schedule, ScheduleSpec

CREATED = datetime(2024, 12, 1, tzinfo=UTC)


class _Claim:
    def __init__(self, schedules: Sequence[Schedule], fail_advance: bool) -> None:
        self.schedules = schedules
        self.pending: dict[str, Firing] = {}
        self._fail_advance = fail_advance

    async def advance(self, schedule: Schedule, firing: Firing) -> None:
        if self._fail_advance:
            raise ConnectionResetError("the process died before the commit")
        self.pending[schedule.schedule_id] = firing


class FakeScheduleStore:
    """:class:`~services.digest.ports.ScheduleStore` in memory."""

    def __init__(self) -> None:
        self.rows: dict[str, Schedule] = {}
        self.locked: set[str] = set()
        self.commits = 0
        self.fail_next_advance = False
        self.claims: list[int] = []

    async def add(
        self, tenant_id: str, spec: ScheduleSpec, *, schedule_id: str, next_due_at: datetime
    ) -> Schedule:
        for s in self.rows.values():
            if (s.tenant_id, s.user_id, s.name) == (tenant_id, spec.user_id, spec.name):
                raise ScheduleExists(spec.user_id, spec.name)
        row = Schedule(
            **spec.model_dump(),
            schedule_id=schedule_id,
            tenant_id=tenant_id,
            next_due_at=next_due_at,
            created_at=CREATED,
            updated_at=CREATED,
        )
        self.rows[schedule_id] = row
        return row

    async def list(self, tenant_id: str, user_id: str | None = None) -> list[Schedule]:
        found = [
            s
            for s in self.rows.values()
            if s.tenant_id == tenant_id and user_id in (None, s.user_id)
        ]
        return sorted(found, key=lambda s: (s.user_id, s.name))

    async def get(self, tenant_id: str, schedule_id: str) -> Schedule | None:
        s = self.rows.get(schedule_id)
        return s if s is not None and s.tenant_id == tenant_id else None

    async def remove(self, tenant_id: str, schedule_id: str) -> bool:
        if await self.get(tenant_id, schedule_id) is None:
            return False
        del self.rows[schedule_id]
        return True

    async def set_enabled(
        self, tenant_id: str, schedule_id: str, enabled: bool, *, next_due_at: datetime
    ) -> Schedule | None:
        s = await self.get(tenant_id, schedule_id)
        if s is None:
            return None
        due = next_due_at if enabled and not s.enabled else s.next_due_at
        self.rows[schedule_id] = s.model_copy(update={"enabled": enabled, "next_due_at": due})
        return self.rows[schedule_id]

    @asynccontextmanager
    async def claim_due(self, now: datetime, *, limit: int, hold_s: float) -> AsyncIterator[_Claim]:
        due = sorted(
            (
                s
                for s in self.rows.values()
                if s.enabled and s.next_due_at <= now and s.schedule_id not in self.locked
            ),
            key=lambda s: s.next_due_at,
        )[:limit]
        ids = {s.schedule_id for s in due}
        self.locked |= ids
        self.claims.append(len(due))
        claim = _Claim(due, self.fail_next_advance)
        self.fail_next_advance = False
        try:
            yield claim
            for sid, f in claim.pending.items():  # COMMIT
                self.rows[sid] = self.rows[sid].model_copy(
                    update={
                        "next_due_at": f.next_due_at,
                        "last_slot_at": f.slot,
                        "last_run_id": f.run_id,
                    }
                )
            self.commits += 1
        finally:
            self.locked -= ids

    async def oldest_due(self, now: datetime) -> datetime | None:
        due = [s.next_due_at for s in self.rows.values() if s.enabled and s.next_due_at <= now]
        return min(due, default=None)


@dataclass
class Published:
    tenant_id: str
    command: GenerateDigest
    event_id: str
    occurred_at: datetime


@dataclass
class FakeRequests:
    """:class:`~services.digest.ports.DigestRequests` that records; ``fail`` names run ids
    whose publication raises; ``gate`` (when set) is awaited before each publication."""

    published: list[Published] = field(default_factory=list)
    fail: set[str] = field(default_factory=set)
    gate: asyncio.Event | None = None

    async def request(
        self, tenant_id: str, command: GenerateDigest, *, event_id: str, occurred_at: datetime
    ) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if command.run_id in self.fail:
            raise TimeoutError("no acknowledgement from the broker")
        self.published.append(Published(tenant_id, command, event_id, occurred_at))
