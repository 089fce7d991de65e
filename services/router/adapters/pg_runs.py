"""Runs on ``router.runs``: every read and write names the tenant."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import asyncpg

from servicekit.postgres import PostgresResource
from services.router.adapters.pg import TIMEOUT_S, answering
from services.router.domain.model import TERMINAL, Run, RunStatus

_COLUMNS: Final = (
    "run_id, tenant_id, user_id, kind, status, request, result, error,"
    " created_at, updated_at, completed_at"
)


class PostgresRuns:
    """:class:`~services.router.ports.RunStore` on Postgres."""

    def __init__(self, db: PostgresResource) -> None:
        self._db = db

    async def create(self, run: Run) -> None:
        async with answering("create run"):
            await self._db.pool.execute(
                f"INSERT INTO router.runs ({_COLUMNS})"  # noqa: S608
                " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11)"
                " ON CONFLICT (tenant_id, run_id) DO NOTHING",
                run.run_id,
                run.tenant_id,
                run.user_id,
                run.kind,
                run.status,
                json.dumps(run.request, ensure_ascii=False),
                None if run.result is None else json.dumps(run.result, ensure_ascii=False),
                run.error,
                run.created_at,
                run.updated_at,
                run.completed_at,
                timeout=TIMEOUT_S,
            )

    async def get(self, tenant_id: str, run_id: str) -> Run | None:
        async with answering("get run"):
            row = await self._db.pool.fetchrow(
                f"SELECT {_COLUMNS} FROM router.runs"  # noqa: S608
                " WHERE tenant_id = $1 AND run_id = $2",
                tenant_id,
                run_id,
                timeout=TIMEOUT_S,
            )
        return None if row is None else _run(row)

    async def update(
        self,
        tenant_id: str,
        run_id: str,
        status: RunStatus,
        *,
        when: datetime,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        done = when if status in TERMINAL else None
        async with answering("update run"):
            found = await self._db.pool.fetchval(
                "UPDATE router.runs SET status = $3, updated_at = $4,"
                " completed_at = coalesce($5, completed_at),"
                " result = coalesce($6::jsonb, result), error = coalesce($7, error)"
                " WHERE tenant_id = $1 AND run_id = $2"
                " AND status NOT IN ('completed', 'failed', 'quality_low')"
                " RETURNING run_id",
                tenant_id,
                run_id,
                status,
                when,
                done,
                None if result is None else json.dumps(result, ensure_ascii=False),
                error,
                timeout=TIMEOUT_S,
            )
        return found is not None

    async def latest(
        self, tenant_id: str, user_id: str, kinds: Sequence[str], limit: int = 1
    ) -> list[Run]:
        async with answering("latest runs"):
            rows = await self._db.pool.fetch(
                f"SELECT {_COLUMNS} FROM router.runs"  # noqa: S608
                " WHERE tenant_id = $1 AND user_id = $2 AND kind = ANY($3::text[])"
                " ORDER BY created_at DESC LIMIT $4",
                tenant_id,
                user_id,
                list(kinds),
                limit,
                timeout=TIMEOUT_S,
            )
        return [_run(r) for r in rows]


def _run(row: asyncpg.Record) -> Run:
    result = row["result"]
    return Run(
        run_id=row["run_id"],
        tenant_id=row["tenant_id"],
        user_id=row["user_id"],
        kind=row["kind"],
        status=row["status"],
        request=json.loads(row["request"]),
        result=None if result is None else json.loads(result),
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        completed_at=row["completed_at"],
    )
