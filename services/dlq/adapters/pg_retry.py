"""The retry schedule in Postgres: intake, leases with ``FOR UPDATE SKIP LOCKED``, outcomes."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final

import asyncpg

from services.dlq.adapters.pg_rows import (
    SUMMARY_COLUMNS,
    TABLE,
    headers_json,
    summary_from,
    unavailable_as_store_error,
)
from services.dlq.domain.intake import FailureReport, NewEntry
from services.dlq.domain.states import RESOLVABLE, Status, Transition
from services.dlq.ports import (
    BeforeCommit,
    EntrySummary,
    Lease,
    RepeatOutcome,
    RepeatResult,
    Stats,
)

_INSERT: Final = f"""
INSERT INTO {TABLE} (
    id, dead_letter_id, original_topic, original_partition, original_offset, origin_attempt,
    message_key, headers, payload, payload_truncated, original_size, payload_sha256,
    error_category, error_class, error_message, service, consumer_group, tenant_id,
    correlation_id, attempt, max_attempts, deliveries, status, status_reason,
    first_failed_at, last_failed_at, next_retry_at, created_at, updated_at)
SELECT u.*, u.created_at FROM unnest(
    $1::uuid[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::int[],
    $7::bytea[], $8::jsonb[], $9::bytea[], $10::bool[], $11::int[], $12::text[],
    $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[],
    $19::text[], $20::int[], $21::int[], $22::int[], $23::text[], $24::text[],
    $25::timestamptz[], $26::timestamptz[], $27::timestamptz[], $28::timestamptz[]
) AS u(
    id, dead_letter_id, original_topic, original_partition, original_offset, origin_attempt,
    message_key, headers, payload, payload_truncated, original_size, payload_sha256,
    error_category, error_class, error_message, service, consumer_group, tenant_id,
    correlation_id, attempt, max_attempts, deliveries, status, status_reason,
    first_failed_at, last_failed_at, next_retry_at, created_at)
ON CONFLICT ON CONSTRAINT dlq_events_origin DO NOTHING
RETURNING {SUMMARY_COLUMNS}
"""  # noqa: S608 - constant table and columns

# Due work in due order; rows another scheduler holds are skipped, not waited for. The update
# re-checks the row (READ COMMITTED re-evaluates a row changed since the snapshot), so an
# entry leased and committed by another replica a moment ago no longer qualifies.
_LEASE: Final = f"""
WITH due AS (
    SELECT id, status AS was FROM {TABLE}
    WHERE next_retry_at <= $1 AND starts_with(original_topic, $5)
    ORDER BY next_retry_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE {TABLE} AS e
SET status = 'retrying', lease_owner = $3, lease_token = gen_random_uuid(),
    lease_until = $1 + $4 * interval '1 second', next_retry_at = $1 + $4 * interval '1 second',
    updated_at = $1
FROM due
WHERE e.id = due.id
RETURNING e.id, e.lease_token, e.original_topic, e.message_key, e.payload, e.headers::text
    AS headers, e.consumer_group, e.deliveries + 1 AS delivery, due.was = 'retrying' AS taken_over
"""  # noqa: S608

# A failure reported before this confirmation already moved the entry on (and kept the token):
# then only the delivery count and publication time are recorded, the schedule is left alone.
_CONFIRM: Final = f"""
UPDATE {TABLE} AS e
SET deliveries = greatest(e.deliveries, d.delivery), published_at = $4, updated_at = $4,
    lease_owner = NULL, lease_until = NULL,
    next_retry_at = CASE WHEN e.status = 'retrying' THEN NULL ELSE e.next_retry_at END
FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS d(id, token, delivery)
WHERE e.id = d.id AND e.lease_token = d.token
RETURNING e.id
"""  # noqa: S608

_REPEAT: Final = f"""
UPDATE {TABLE}
SET status = $2, status_reason = $3, next_retry_at = $4, attempt = attempt + 1,
    deliveries = greatest(deliveries, $5), error_category = $6, error_class = $7,
    error_message = $8, last_failed_at = $9, lease_owner = NULL, lease_until = NULL,
    updated_at = $10
WHERE id = $1
RETURNING {SUMMARY_COLUMNS}
"""  # noqa: S608


class PgRetryStore:
    """:class:`~services.dlq.ports.RetryStore` on asyncpg; ``pool`` is read on each call so
    the store can be built before the pool opens."""

    def __init__(self, pool: Callable[[], asyncpg.Pool]) -> None:
        self._pool = pool

    async def insert_new(
        self, entries: Sequence[NewEntry], before_commit: BeforeCommit
    ) -> list[EntrySummary]:
        if not entries:
            return []
        columns = _insert_columns(entries)
        async with unavailable_as_store_error(), self._pool().acquire() as conn, conn.transaction():
            rows = await conn.fetch(_INSERT, *columns)
            inserted = [summary_from(r) for r in rows]
            await before_commit(inserted)
        return inserted

    async def record_repeat_failure(
        self,
        report: FailureReport,
        decide: Callable[[int], Transition],
        now: datetime,
        before_commit: BeforeCommit,
    ) -> RepeatResult:
        letter = report.letter
        async with unavailable_as_store_error(), self._pool().acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"SELECT status, attempt, lease_token FROM {TABLE} WHERE id = $1 FOR UPDATE",  # noqa: S608
                report.entry_id,
            )
            if row is None:
                return RepeatResult(RepeatOutcome.MISSING)
            token = str(row["lease_token"]) if row["lease_token"] else None
            if row["status"] != Status.RETRYING or token != report.delivery_id:
                return RepeatResult(RepeatOutcome.STALE)
            move = decide(row["attempt"] + 1)
            updated = await conn.fetchrow(
                _REPEAT,
                report.entry_id,
                move.status.value,
                move.reason,
                move.next_retry_at,
                letter.attempt,
                letter.error_category,
                letter.error_class,
                letter.error_message,
                letter.failed_at,
                now,
            )
            assert updated is not None  # the row is locked by this transaction
            entry = summary_from(updated)
            await before_commit([entry])
        return RepeatResult(RepeatOutcome.APPLIED, entry)

    async def lease_due(
        self, *, owner: str, now: datetime, lease_s: float, limit: int, topic_prefix: str = ""
    ) -> list[Lease]:
        async with unavailable_as_store_error():
            rows = await self._pool().fetch(_LEASE, now, limit, owner, lease_s, topic_prefix)
        return [
            Lease(
                entry_id=str(r["id"]),
                token=str(r["lease_token"]),
                topic=r["original_topic"],
                key=r["message_key"],
                payload=bytes(r["payload"]),
                headers=json.loads(r["headers"]),
                group=r["consumer_group"],
                delivery=r["delivery"],
                taken_over=r["taken_over"],
            )
            for r in rows
        ]

    async def confirm_published(
        self, leases: Sequence[Lease], now: datetime
    ) -> tuple[set[str], set[str]]:
        if not leases:
            return set(), set()
        ids = [lease.entry_id for lease in leases]
        async with unavailable_as_store_error(), self._pool().acquire() as conn:
            rows = await conn.fetch(
                _CONFIRM,
                ids,
                [lease.token for lease in leases],
                [lease.delivery for lease in leases],
                now,
            )
            confirmed = {str(r["id"]) for r in rows}
            rest = [i for i in ids if i not in confirmed]
            taken: set[str] = set()
            if rest:
                # a different live lease on the row means another owner took it over
                held = await conn.fetch(
                    f"SELECT id FROM {TABLE} WHERE id = ANY($1::uuid[])"  # noqa: S608
                    " AND lease_owner IS NOT NULL",
                    rest,
                )
                taken = {str(r["id"]) for r in held}
        return confirmed, taken

    async def release(self, lease: Lease, retry_at: datetime, now: datetime) -> bool:
        async with unavailable_as_store_error():
            done = await self._pool().fetchval(
                f"UPDATE {TABLE} SET status = 'pending', next_retry_at = $3,"  # noqa: S608
                " lease_owner = NULL, lease_until = NULL, lease_token = NULL, updated_at = $4"
                " WHERE id = $1 AND lease_token = $2 AND status = 'retrying' RETURNING true",
                lease.entry_id,
                lease.token,
                retry_at,
                now,
            )
        return bool(done)

    async def resolve(self, entry_ids: Sequence[str], now: datetime) -> list[EntrySummary]:
        if not entry_ids:
            return []
        async with unavailable_as_store_error():
            rows = await self._pool().fetch(
                f"UPDATE {TABLE} SET status = 'resolved', resolved_at = $2,"  # noqa: S608
                " status_reason = NULL, next_retry_at = NULL, lease_owner = NULL,"
                " lease_until = NULL, updated_at = $2"
                f" WHERE id = ANY($1::uuid[]) AND status = ANY($3::text[])"
                f" RETURNING {SUMMARY_COLUMNS}",
                list(entry_ids),
                now,
                [s.value for s in RESOLVABLE],
            )
        return [summary_from(r) for r in rows]

    async def stats(self, topic_prefix: str = "") -> Stats:
        return await read_stats(self._pool(), topic_prefix)


async def read_stats(pool: asyncpg.Pool, topic_prefix: str = "") -> Stats:
    """Counts by topic and status; first failure of the oldest open entry."""
    async with unavailable_as_store_error():
        rows = await pool.fetch(
            f"SELECT original_topic, status, count(*) AS n FROM {TABLE}"  # noqa: S608
            " WHERE starts_with(original_topic, $1) GROUP BY 1, 2",
            topic_prefix,
        )
        oldest = await pool.fetchval(
            f"SELECT min(first_failed_at) FROM {TABLE}"  # noqa: S608
            " WHERE status IN ('pending', 'retrying') AND starts_with(original_topic, $1)",
            topic_prefix,
        )
    return Stats(
        counts={(r["original_topic"], Status(r["status"])): r["n"] for r in rows},
        oldest_open_failed_at=oldest,
    )


def _insert_columns(entries: Sequence[NewEntry]) -> list[list[object]]:
    cols: list[list[object]] = [[] for _ in range(28)]
    for e in entries:
        letter = e.report.letter
        values: tuple[object, ...] = (
            e.id,
            e.report.dead_letter_id,
            letter.original_topic,
            letter.partition,
            letter.offset,
            letter.attempt,
            letter.original_key(),
            headers_json(e.headers),
            letter.original_payload(),
            letter.payload_truncated,
            letter.original_size,
            letter.payload_sha256,
            letter.error_category,
            letter.error_class,
            letter.error_message,
            letter.service,
            letter.consumer_group,
            e.report.tenant_id,
            e.report.correlation_id,
            e.attempt,
            e.max_attempts,
            e.deliveries,
            e.status.value,
            e.status_reason,
            letter.failed_at,
            letter.failed_at,
            e.next_retry_at,
            e.created_at,
        )
        for col, value in zip(cols, values, strict=True):
            col.append(value)
    return cols
