"""ScheduleStore on Postgres: ``digest.schedules``.

The claim is one transaction: ``SELECT … FOR UPDATE SKIP LOCKED`` of the due rows, the
caller publishes while holding them, then one ``UPDATE`` per published row, then COMMIT. A
second replica's claim skips the locked rows, and after the commit finds them no longer due.
A process that dies inside the claim (after publishing, before the commit) leaves the rows
as they were: the next claim publishes the same slot again, with the same ids. The
transaction is bounded by ``idle_in_transaction_session_timeout`` (``hold_s``), so a hung
process cannot hold schedules for ever either.

Every row belongs to one deployment — the topic prefix of the service that wrote it — and a
store reads, changes and claims only its own deployment's rows: installations that share a
Postgres (tests, staging beside dev) never fire each other's schedules onto their topics.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Final, Protocol

import asyncpg
from pydantic import ValidationError

from servicekit.logging import get_logger
from servicekit.postgres import PostgresResource
from services.digest.errors import ScheduleExists, StoreUnavailable
from services.digest.schedules.model import Firing, Schedule, ScheduleSpec

_COLUMNS: Final = (
    "schedule_id, tenant_id, user_id, name, persona_id, kind, channels, period_days,"
    " window_hours, mode, language, formats, cadence, timezone, enabled, next_due_at,"
    " last_slot_at, last_run_id, created_at, updated_at"
)
_ADD: Final = f"""
INSERT INTO digest.schedules (schedule_id, tenant_id, user_id, name, persona_id, kind, channels,
    period_days, window_hours, mode, language, formats, cadence, timezone, enabled, next_due_at,
    deployment)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
RETURNING {_COLUMNS}
"""  # noqa: S608 - constant column list
_LIST: Final = f"""
SELECT {_COLUMNS} FROM digest.schedules
WHERE tenant_id = $1 AND ($2::text IS NULL OR user_id = $2) AND deployment = $3
ORDER BY user_id, name
"""  # noqa: S608 - constant column list
_GET: Final = f"""
SELECT {_COLUMNS} FROM digest.schedules
WHERE tenant_id = $1 AND schedule_id = $2 AND deployment = $3
"""  # noqa: S608 - constant column list
_SET_ENABLED: Final = f"""
UPDATE digest.schedules
SET enabled = $3,
    next_due_at = CASE WHEN $3 AND NOT enabled THEN $4 ELSE next_due_at END,
    updated_at = now()
WHERE tenant_id = $1 AND schedule_id = $2 AND deployment = $5
RETURNING {_COLUMNS}
"""  # noqa: S608 - constant column list
_CLAIM: Final = f"""
SELECT {_COLUMNS} FROM digest.schedules
WHERE enabled AND next_due_at <= $1 AND deployment = $3
ORDER BY next_due_at
LIMIT $2
FOR UPDATE SKIP LOCKED
"""  # noqa: S608 - constant column list
_ADVANCE: Final = """
UPDATE digest.schedules
SET next_due_at = $2, last_slot_at = $3, last_run_id = $4, updated_at = now()
WHERE schedule_id = $1
"""
_OLDEST: Final = """
SELECT min(next_due_at) FROM digest.schedules
WHERE enabled AND next_due_at <= $1 AND deployment = $2
"""
_UNAVAILABLE: Final = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
)
_log = get_logger(__name__)


class _Executor(Protocol):
    """What the claim needs of its connection (a pool's proxy or a plain connection)."""

    async def execute(self, query: str, *args: Any) -> str: ...


def _schedule(row: asyncpg.Record) -> Schedule:
    values: dict[str, Any] = dict(row)
    values["schedule_id"] = str(values["schedule_id"])
    values["channels"] = list(values["channels"])
    values["formats"] = list(values["formats"])
    return Schedule.model_validate(values)


class _Claim:
    """:class:`~services.digest.ports.DueSchedules` inside the claim's transaction."""

    def __init__(self, conn: _Executor, schedules: Sequence[Schedule]) -> None:
        self._conn = conn
        self.schedules = schedules

    async def advance(self, schedule: Schedule, firing: Firing) -> None:
        try:
            await self._conn.execute(
                _ADVANCE,
                uuid.UUID(schedule.schedule_id),
                firing.next_due_at,
                firing.slot,
                firing.run_id,
            )
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"schedules: {exc!r}"[:200]) from exc


class PostgresScheduleStore:
    """:class:`~services.digest.ports.ScheduleStore` on ``digest.schedules``."""

    def __init__(self, db: PostgresResource, *, deployment: str) -> None:
        """``deployment``: the service's topic prefix (``""`` for none)."""
        self._db = db
        self._deployment = deployment

    async def add(
        self, tenant_id: str, spec: ScheduleSpec, *, schedule_id: str, next_due_at: datetime
    ) -> Schedule:
        try:
            row = await self._db.pool.fetchrow(
                _ADD,
                uuid.UUID(schedule_id),
                tenant_id,
                spec.user_id,
                spec.name,
                spec.persona_id,
                spec.kind,
                list(spec.channels),
                spec.period_days,
                spec.window_hours,
                spec.mode,
                spec.language,
                list(spec.formats),
                spec.cadence,
                spec.timezone,
                spec.enabled,
                next_due_at,
                self._deployment,
            )
        except asyncpg.UniqueViolationError:
            raise ScheduleExists(spec.user_id, spec.name) from None
        if row is None:  # pragma: no cover - INSERT … RETURNING always answers a row
            raise RuntimeError("schedule insert returned no row")
        return _schedule(row)

    async def list(self, tenant_id: str, user_id: str | None = None) -> list[Schedule]:
        return [
            _schedule(r)
            for r in await self._db.pool.fetch(_LIST, tenant_id, user_id, self._deployment)
        ]

    async def get(self, tenant_id: str, schedule_id: str) -> Schedule | None:
        key = _uuid(schedule_id)
        row = (
            None
            if key is None
            else await self._db.pool.fetchrow(_GET, tenant_id, key, self._deployment)
        )
        return None if row is None else _schedule(row)

    async def remove(self, tenant_id: str, schedule_id: str) -> bool:
        key = _uuid(schedule_id)
        if key is None:
            return False
        status = await self._db.pool.execute(
            "DELETE FROM digest.schedules"
            " WHERE tenant_id = $1 AND schedule_id = $2 AND deployment = $3",
            tenant_id,
            key,
            self._deployment,
        )
        return str(status).endswith(" 1")

    async def set_enabled(
        self, tenant_id: str, schedule_id: str, enabled: bool, *, next_due_at: datetime
    ) -> Schedule | None:
        key = _uuid(schedule_id)
        if key is None:
            return None
        row = await self._db.pool.fetchrow(
            _SET_ENABLED, tenant_id, key, enabled, next_due_at, self._deployment
        )
        return None if row is None else _schedule(row)

    @asynccontextmanager
    async def claim_due(self, now: datetime, *, limit: int, hold_s: float) -> AsyncIterator[_Claim]:
        in_body = False  # the caller's own errors pass through as they are
        try:
            async with self._db.pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "SELECT set_config('idle_in_transaction_session_timeout', $1, true)",
                    str(max(1000, int(hold_s * 1000))),
                )
                rows = await conn.fetch(_CLAIM, now, limit, self._deployment)
                in_body = True
                yield _Claim(conn, _readable(rows))
                in_body = False
        except _UNAVAILABLE as exc:
            if in_body:
                raise
            raise StoreUnavailable(f"schedules: {exc!r}"[:200]) from exc

    async def oldest_due(self, now: datetime) -> datetime | None:
        try:
            value: datetime | None = await self._db.pool.fetchval(_OLDEST, now, self._deployment)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"schedules: {exc!r}"[:200]) from exc
        return value


def _readable(rows: Sequence[asyncpg.Record]) -> list[Schedule]:
    """The rows that still validate; one that does not (its time zone left the zone
    database) stays due and is logged on every claim, rather than blocking the others."""
    out = []
    for row in rows:
        try:
            out.append(_schedule(row))
        except ValidationError as exc:
            _log.error("schedule_unreadable", schedule_id=str(row["schedule_id"]), error=str(exc))
    return out


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
