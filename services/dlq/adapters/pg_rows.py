"""Shared by the Postgres adapters: the table, row mapping, and what counts as unavailable."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import asyncpg

from services.dlq.domain.states import Status
from services.dlq.errors import StoreUnavailable
from services.dlq.ports import Entry, EntrySummary

TABLE: Final = "dlq.dlq_events"
SUMMARY_COLUMNS: Final = (
    "id, status, status_reason, original_topic, original_partition, original_offset,"
    " error_category, error_class, error_message, service, consumer_group, tenant_id,"
    " correlation_id, attempt, max_attempts, deliveries, replays, payload_truncated,"
    " dead_letter_id, first_failed_at, last_failed_at, next_retry_at, lease_owner,"
    " lease_until, published_at, resolved_at, updated_at"
)
ENTRY_COLUMNS: Final = (
    SUMMARY_COLUMNS
    + ", message_key, headers, payload, original_size, payload_sha256, created_at, lease_token"
)

# Connection loss, timeouts, a server restarting, shutting down or refusing connections, and
# the transient transaction failures (serialization, deadlock): worth waiting out. A misused
# API (wrong arguments, bad SQL) is a bug and must not be mistaken for an outage.
_UNAVAILABLE: Final = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
    asyncpg.TransactionRollbackError,
)


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, _UNAVAILABLE):
        return True
    # asyncpg reports a connection or pool closed under it as a plain InterfaceError
    return isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc)


@asynccontextmanager
async def unavailable_as_store_error() -> AsyncIterator[None]:
    """Translate asyncpg's transient failures into :class:`StoreUnavailable`."""
    try:
        yield
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        if _is_outage(exc):
            raise StoreUnavailable(f"postgres: {exc!r}"[:300]) from exc
        raise


def headers_json(headers: dict[str, str]) -> str:
    """Headers as the text of a jsonb parameter (the shared pool has no jsonb codec)."""
    return json.dumps(headers, ensure_ascii=False)


def summary_from(row: asyncpg.Record) -> EntrySummary:
    """Map a row holding at least :data:`SUMMARY_COLUMNS`."""
    return EntrySummary(
        id=str(row["id"]),
        status=Status(row["status"]),
        status_reason=row["status_reason"],
        original_topic=row["original_topic"],
        original_partition=row["original_partition"],
        original_offset=row["original_offset"],
        error_category=row["error_category"],
        error_class=row["error_class"],
        error_message=row["error_message"],
        service=row["service"],
        consumer_group=row["consumer_group"],
        tenant_id=row["tenant_id"],
        correlation_id=row["correlation_id"],
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        deliveries=row["deliveries"],
        replays=row["replays"],
        payload_truncated=row["payload_truncated"],
        dead_letter_id=row["dead_letter_id"],
        first_failed_at=row["first_failed_at"],
        last_failed_at=row["last_failed_at"],
        next_retry_at=row["next_retry_at"],
        lease_owner=row["lease_owner"],
        lease_until=row["lease_until"],
        published_at=row["published_at"],
        resolved_at=row["resolved_at"],
        updated_at=row["updated_at"],
    )


def entry_from(row: asyncpg.Record) -> Entry:
    """Map a row holding :data:`ENTRY_COLUMNS`."""
    headers: Any = json.loads(row["headers"])
    return Entry(
        summary=summary_from(row),
        key=row["message_key"],
        headers={str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {},
        payload=bytes(row["payload"]),
        original_size=row["original_size"],
        payload_sha256=row["payload_sha256"],
        created_at=row["created_at"],
    )
