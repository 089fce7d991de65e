"""The dlq service's lifecycle events, through the runtime's lifecycle publisher."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from contracts.envelope import Envelope
from servicekit.lifecycle import LifecyclePublisher
from services.dlq.ports import EntrySummary

OPERATOR_DOMAIN: Final = "dlq-operator"
MAX_IDS: Final = 50
"""Ids named in one episode; ``details`` must stay under 4 KB (the count is always given)."""
_RUN_ID = re.compile(r"^\S{1,128}$")


class LifecycleEpisodes:
    """:class:`~services.dlq.ports.Episodes` on :class:`LifecyclePublisher`."""

    def __init__(self, lifecycle: LifecyclePublisher, prefix: str) -> None:
        self._lifecycle = lifecycle
        self._prefix = prefix

    async def permanent_failure(self, entry: EntrySummary, cause: Envelope[Any]) -> None:
        run_id = entry.correlation_id or entry.id
        await self._lifecycle.emit(
            "error",
            tenant_id=entry.tenant_id,
            run_id=run_id if _RUN_ID.match(run_id) else entry.id,
            domain="dlq",
            details={
                "dlq_entry_id": entry.id,
                "status": entry.status.value,
                "original_topic": entry.original_topic.removeprefix(self._prefix),
                "consumer_group": entry.consumer_group,
                "service": entry.service,
                "error_class": entry.error_class,
                "error": entry.error_message[:500],
                "attempts": entry.attempt,
            },
            cause=cause,
            dedupe_parts=("failed_permanently", entry.id),
        )

    async def operator_action(
        self,
        *,
        action: str,
        run_id: str,
        tenant_id: str,
        operator: str,
        reason: str,
        ids: Sequence[str],
        skipped: int,
    ) -> None:
        await self._lifecycle.emit(
            "run_completed",
            tenant_id=tenant_id,
            run_id=run_id,
            domain=OPERATOR_DOMAIN,
            details={
                "action": action,
                "operator": operator,
                "reason": reason[:500],
                "count": len(ids),
                "ids": list(ids[:MAX_IDS]),
                "ids_truncated": len(ids) > MAX_IDS,
                "skipped": skipped,
            },
        )
