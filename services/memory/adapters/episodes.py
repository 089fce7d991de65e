"""The episode store on Postgres: one multi-row INSERT per batch, keyset-paginated reads."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, Final

import asyncpg
from pydantic_core import to_json

from servicekit.postgres import PostgresResource
from services.memory.domain.episode import Episode, EpisodeFilter, StoredEpisode
from services.memory.errors import EpisodeRefused, StoreUnavailable

# unnest() turns the column arrays into rows, so a batch of any size is one statement with
# nine parameters (one round trip, one plan), and ON CONFLICT makes repeats no-ops.
_INSERT: Final = """
INSERT INTO memory.episodes
    (event_id, tenant_id, run_id, kind, service, domain, user_id, details, occurred_at)
SELECT * FROM unnest(
    $1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::jsonb[], $9::timestamptz[])
ON CONFLICT (event_id, occurred_at) DO NOTHING
RETURNING event_id, occurred_at
"""
_COLUMNS: Final = (
    "event_id, tenant_id, run_id, kind, service, domain, user_id, details, occurred_at, recorded_at"
)
# Failures that mean "the store did not answer", as opposed to a bug in a query.
_UNAVAILABLE: Final = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.QueryCanceledError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
)


class PostgresEpisodes:
    """:class:`~services.memory.ports.EpisodeStore` on ``memory.episodes``."""

    def __init__(self, db: PostgresResource, *, read_timeout_s: float = 5.0) -> None:
        self._db = db
        self._read_timeout_s = read_timeout_s

    async def add(self, episodes: Sequence[Episode]) -> list[Episode]:
        if not episodes:
            return []
        columns: list[list[Any]] = [[] for _ in range(9)]
        for e in episodes:
            row = (
                e.event_id,
                e.tenant_id,
                e.run_id,
                e.kind,
                e.service,
                e.domain,
                e.user_id,
                to_json(e.details).decode(),
                e.occurred_at,
            )
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        try:
            rows = await self._db.pool.fetch(_INSERT, *columns)
        except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
            # The data itself is refused: a constraint or an unstorable value. Retrying the
            # same bytes cannot succeed, so the runtime dead-letters instead of retrying.
            raise EpisodeRefused(f"episode refused by the store: {exc}") from exc
        stored = {(str(r["event_id"]), r["occurred_at"]) for r in rows}
        return [e for e in episodes if _key(e) in stored]

    async def find(self, query: EpisodeFilter) -> list[StoredEpisode]:
        sql, args = read_sql(query)
        try:
            async with self._db.pool.acquire(timeout=self._read_timeout_s) as conn:
                rows = await conn.fetch(sql, *args, timeout=self._read_timeout_s)
        except (*_UNAVAILABLE, RuntimeError) as exc:  # RuntimeError: pool not started yet
            raise StoreUnavailable(f"episode store unavailable: {exc!r}") from exc
        return [_episode(r) for r in rows]


def _key(e: Episode) -> tuple[str, Any]:
    return (str(uuid.UUID(e.event_id)), e.occurred_at)


def read_sql(q: EpisodeFilter) -> tuple[str, list[Any]]:
    """The SQL of a read with only the given filters, so each shape gets its own plan (a
    catch-all ``$n IS NULL OR …`` would defeat the indexes under a generic plan)."""
    args: list[Any] = [q.tenant_id]
    where = ["tenant_id = $1"]

    def param(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if q.run_id is not None:
        where.append(f"run_id = {param(q.run_id)}")
    if q.kind is not None:
        where.append(f"kind = {param(q.kind)}")
    if q.service is not None:
        where.append(f"service = {param(q.service)}")
    if q.since is not None:
        where.append(f"occurred_at >= {param(q.since)}")
    if q.until is not None:
        where.append(f"occurred_at < {param(q.until)}")
    direction = "DESC" if q.order == "newest" else "ASC"
    if q.after is not None:
        # A row comparison is an index condition on (…, occurred_at, event_id): the page
        # starts at the cursor instead of skipping OFFSET rows.
        op = "<" if q.order == "newest" else ">"
        ts, eid = param(q.after.occurred_at), param(q.after.event_id)
        where.append(f"(occurred_at, event_id) {op} ({ts}, {eid}::uuid)")
    limit = param(q.limit)
    sql = (
        f"SELECT {_COLUMNS} FROM memory.episodes WHERE {' AND '.join(where)} "  # noqa: S608 - fixed fragments, values are parameters
        f"ORDER BY occurred_at {direction}, event_id {direction} LIMIT {limit}"
    )
    return sql, args


def _episode(row: asyncpg.Record) -> StoredEpisode:
    return StoredEpisode(
        event_id=str(row["event_id"]),
        tenant_id=row["tenant_id"],
        run_id=row["run_id"],
        kind=row["kind"],
        service=row["service"],
        domain=row["domain"],
        user_id=row["user_id"],
        details=json.loads(row["details"]),
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
    )
