"""Conversation turns on ``router.turns``."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import asyncpg

from servicekit.postgres import PostgresResource
from services.router.adapters.pg import TIMEOUT_S, answering
from services.router.domain.model import Turn, Window

_COLUMNS: Final = (
    "tenant_id, user_id, run_id, query, answer, route, window_since, window_until,"
    " window_label, created_at"
)


class PostgresTurns:
    """:class:`~services.router.ports.TurnStore` on Postgres."""

    def __init__(self, db: PostgresResource) -> None:
        self._db = db

    async def recent(self, tenant_id: str, user_id: str, since: datetime, limit: int) -> list[Turn]:
        if limit <= 0:
            return []
        async with answering("recent turns"):
            rows = await self._db.pool.fetch(
                f"SELECT {_COLUMNS} FROM router.turns"  # noqa: S608
                " WHERE tenant_id = $1 AND user_id = $2 AND created_at >= $3"
                " ORDER BY created_at DESC LIMIT $4",
                tenant_id,
                user_id,
                since,
                limit,
                timeout=TIMEOUT_S,
            )
        return [_turn(r) for r in rows]

    async def add(self, turn: Turn) -> None:
        w = turn.window
        async with answering("add turn"):
            await self._db.pool.execute(
                f"INSERT INTO router.turns ({_COLUMNS})"  # noqa: S608
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                turn.tenant_id,
                turn.user_id,
                turn.run_id,
                turn.query,
                turn.answer,
                turn.route,
                w.since if w else None,
                w.until if w else None,
                w.label if w else None,
                turn.created_at,
                timeout=TIMEOUT_S,
            )

    async def prune(self, before: datetime) -> int:
        async with answering("prune turns"):
            status = await self._db.pool.execute(
                "DELETE FROM router.turns WHERE created_at < $1", before, timeout=30
            )
        return int(status.split()[-1])


def _turn(row: asyncpg.Record) -> Turn:
    window = None
    if row["window_since"] or row["window_until"] or row["window_label"]:
        window = Window(row["window_since"], row["window_until"], row["window_label"] or "")
    return Turn(
        tenant_id=row["tenant_id"],
        user_id=row["user_id"],
        run_id=row["run_id"],
        query=row["query"],
        answer=row["answer"],
        route=row["route"],
        created_at=row["created_at"],
        window=window,
    )
