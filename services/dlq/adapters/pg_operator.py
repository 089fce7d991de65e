"""Operator reads and actions on ``dlq.dlq_events``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Final

import asyncpg

from services.dlq.adapters.pg_retry import read_stats
from services.dlq.adapters.pg_rows import (
    ENTRY_COLUMNS,
    SUMMARY_COLUMNS,
    TABLE,
    entry_from,
    summary_from,
    unavailable_as_store_error,
)
from services.dlq.domain.backoff import RetryPolicy
from services.dlq.domain.routing import unroutable_reason
from services.dlq.domain.states import ALLOWED_FROM, Action, Status, refusal
from services.dlq.ports import ActionOutcome, Entry, EntryQuery, EntrySummary, Skipped, Stats

_CLEAR_LEASE: Final = "lease_owner = NULL, lease_until = NULL, lease_token = NULL"
# $1 ids, $2 now, $3 reason, and for a replay $4 the attempt budget
_UPDATES: Final[dict[Action, str]] = {
    "replay": (
        "status = 'pending', status_reason = $3, attempt = 0, max_attempts = $4,"
        f" replays = replays + 1, next_retry_at = $2, resolved_at = NULL, {_CLEAR_LEASE}"
    ),
    "park": f"status = 'parked', status_reason = $3, next_retry_at = NULL, {_CLEAR_LEASE}",
    "purge": (
        "status = 'purged', status_reason = $3, next_retry_at = NULL, payload = ''::bytea,"
        f" message_key = NULL, headers = '{{}}'::jsonb, {_CLEAR_LEASE}"
    ),
}


class PgOperatorStore:
    """:class:`~services.dlq.ports.OperatorStore` on asyncpg."""

    def __init__(self, pool: Callable[[], asyncpg.Pool]) -> None:
        self._pool = pool

    async def query(self, query: EntryQuery) -> list[EntrySummary]:
        where, args = _where(query)
        args.append(query.limit)
        sql = (
            f"SELECT {SUMMARY_COLUMNS} FROM {TABLE} WHERE {where}"  # noqa: S608 - built from constants
            f" ORDER BY id DESC LIMIT ${len(args)}"
        )
        async with unavailable_as_store_error():
            rows = await self._pool().fetch(sql, *args)
        return [summary_from(r) for r in rows]

    async def get(self, entry_id: str) -> Entry | None:
        async with unavailable_as_store_error():
            row = await self._pool().fetchrow(
                f"SELECT {ENTRY_COLUMNS} FROM {TABLE} WHERE id = $1",  # noqa: S608
                entry_id,
            )
        return None if row is None else entry_from(row)

    async def apply(
        self,
        action: Action,
        *,
        ids: Sequence[str] | None = None,
        query: EntryQuery | None = None,
        now: datetime,
        policy: RetryPolicy,
        prefix: str,
        reason: str,
    ) -> ActionOutcome:
        lock_cols = "id, status, lease_owner, lease_until, payload_truncated, original_topic"
        async with unavailable_as_store_error(), self._pool().acquire() as conn, conn.transaction():
            if ids is not None:
                rows = await conn.fetch(
                    f"SELECT {lock_cols} FROM {TABLE} WHERE id = ANY($1::uuid[])"  # noqa: S608
                    " ORDER BY id FOR UPDATE",
                    list(ids),
                )
                found = {str(r["id"]) for r in rows}
                skipped = [Skipped(i, None, "no such entry") for i in ids if i not in found]
            else:
                assert query is not None
                # only candidates the action applies to; rows a scheduler holds are skipped
                wanted = query.statuses or tuple(Status)
                statuses = tuple(s for s in wanted if s in ALLOWED_FROM[action])
                rows = []
                if statuses:
                    where, args = _where(replace(query, statuses=statuses))
                    args.append(query.limit)
                    rows = await conn.fetch(
                        f"SELECT {lock_cols} FROM {TABLE} WHERE {where}"  # noqa: S608
                        f" ORDER BY id DESC LIMIT ${len(args)} FOR UPDATE SKIP LOCKED",
                        *args,
                    )
                skipped = []
            chosen: list[str] = []
            for r in rows:
                status = Status(r["status"])
                leased = r["lease_owner"] is not None and (
                    r["lease_until"] is not None and r["lease_until"] > now
                )
                why = refusal(
                    action,
                    status,
                    leased=leased,
                    truncated=r["payload_truncated"],
                    routable=unroutable_reason(r["original_topic"], prefix) is None,
                )
                if why is None:
                    chosen.append(str(r["id"]))
                else:
                    skipped.append(Skipped(str(r["id"]), status, why))
            changed: list[EntrySummary] = []
            if chosen:
                budget = [policy.max_attempts] if action == "replay" else []
                updated = await conn.fetch(
                    f"UPDATE {TABLE} SET {_UPDATES[action]}, updated_at = $2"  # noqa: S608
                    f" WHERE id = ANY($1::uuid[]) RETURNING {SUMMARY_COLUMNS}",
                    chosen,
                    now,
                    reason,
                    *budget,
                )
                changed = sorted((summary_from(r) for r in updated), key=lambda e: e.id)
        return ActionOutcome(changed=changed, skipped=skipped)

    async def stats(self, topic_prefix: str = "") -> Stats:
        return await read_stats(self._pool(), topic_prefix)


def _where(query: EntryQuery) -> tuple[str, list[object]]:
    """A WHERE clause of placeholders (never interpolated values) and its arguments."""
    parts: list[str] = []
    args: list[object] = []

    def add(sql: str, value: object) -> None:
        args.append(value)
        parts.append(sql.format(f"${len(args)}"))

    if query.statuses:
        add("status = ANY({}::text[])", [s.value for s in query.statuses])
    if query.topic_prefix:
        add("starts_with(original_topic, {})", query.topic_prefix)
    if query.topics:
        add("original_topic = ANY({}::text[])", list(query.topics))
    if query.error_class is not None:
        add("error_class = {}", query.error_class)
    if query.service is not None:
        add("service = {}", query.service)
    if query.consumer_group is not None:
        add("consumer_group = {}", query.consumer_group)
    if query.tenant_id is not None:
        add("tenant_id = {}", query.tenant_id)
    if query.since is not None:
        add("first_failed_at >= {}", query.since)
    if query.until is not None:
        add("first_failed_at < {}", query.until)
    if query.before_id is not None:
        add("id < {}::uuid", query.before_id)
    return (" AND ".join(parts) or "true"), args
