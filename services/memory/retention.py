"""The retention job: drop what is older than the window, prepare partitions ahead.

Runs at start-up (partitions only) and then every ``retention_interval_s`` in the service
itself (``kit.run_in_background``), on the kit's clock so tests move time by hand.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from servicekit.clock import Clock
from servicekit.logging import get_logger
from services.memory.domain.episode import retention_cutoff
from services.memory.domain.partitions import Month, RetentionPlan, plan_retention
from services.memory.metrics import MemoryMetrics
from services.memory.ports import PartitionStore

_log = get_logger(__name__)


@dataclass(frozen=True)
class RetentionReport:
    """What one run did."""

    cutoff: datetime
    created: list[Month] = field(default_factory=list)
    moved_rows: int = 0
    dropped: list[Month] = field(default_factory=list)
    deleted_rows: int = 0


class RetentionJob:
    """Keeps ``memory.episodes`` within ``retention_days`` of the clock, cheaply."""

    def __init__(
        self,
        partitions: PartitionStore,
        clock: Clock,
        metrics: MemoryMetrics,
        *,
        retention_days: int,
        interval_s: float,
        ahead: int,
        delete_batch: int,
    ) -> None:
        self._partitions = partitions
        self._clock = clock
        self._metrics = metrics
        self._days = retention_days
        self._interval_s = interval_s
        self._ahead = ahead
        self._batch = delete_batch

    async def prepare(self) -> None:
        """Create the partitions from the cut-off's month to ``ahead`` months from now.
        Idempotent; raises when the store does (start-up retries it)."""
        await self._create(await self._plan())

    async def run_once(self) -> RetentionReport:
        """One full run: create partitions ahead, drop the partitions wholly before the
        cut-off, delete the rows before it in the straddling and default partitions. Only
        episodes that occurred before ``now - retention_days`` are removed. Raises when the
        store does; a partial run is safe to repeat."""
        plan = await self._plan()
        created, moved = await self._create(plan)
        for month in plan.drop:
            await self._partitions.drop(month)
            self._metrics.retention_removed.labels(unit="partitions").inc()
        deleted = 0
        for table in plan.trim:
            n = await self._partitions.trim(table, plan.cutoff, self._batch)
            self._metrics.retention_removed.labels(unit="rows").inc(n)
            deleted += n
        self._metrics.retention_last_run.set(self._clock.now().timestamp())
        report = RetentionReport(
            cutoff=plan.cutoff,
            created=created,
            moved_rows=moved,
            dropped=plan.drop,
            deleted_rows=deleted,
        )
        _log.info(
            "retention_run",
            cutoff=plan.cutoff.isoformat(),
            dropped=[m.table for m in plan.drop],
            deleted_rows=deleted,
            created=[m.table for m in created],
            moved_rows=moved,
        )
        return report

    async def loop(self) -> None:
        """Run every ``interval_s`` until cancelled. A failed run is logged and counted and
        the next one comes at the next interval; ``memory_retention_last_run_timestamp_seconds``
        going stale is what an alert watches."""
        while True:
            try:
                await self.run_once()
            except Exception:
                self._metrics.retention_failures.inc()
                _log.exception("retention_run_failed")
            await asyncio.sleep(self._interval_s)

    async def _plan(self) -> RetentionPlan:
        now = self._clock.now()
        return plan_retention(
            now=now,
            cutoff=retention_cutoff(now, self._days),
            existing=await self._partitions.months(),
            ahead=self._ahead,
        )

    async def _create(self, plan: RetentionPlan) -> tuple[list[Month], int]:
        moved = 0
        for month in plan.create:
            moved += await self._partitions.create(month)
            self._metrics.partitions_created.inc()
        return plan.create, moved
