"""Trend runs of the smart path: accepted at once (202), finished in the background.

The trend service answers a ``ReportTrends`` from its current clusters within a moment, with
one list (empty when nothing trends); the gateway asks it after accepting the run and
completes the run with what came back. No reply within the deadline (the trend service is
down or busy) completes the run with no trends and a note saying so; a request Kafka refused
fails the run.
"""

from __future__ import annotations

from typing import Any

from contracts.v1.trend import ReportTrends
from servicekit.clock import Clock
from services.router.domain.model import Run, RunStatus
from services.router.errors import DispatchFailed, ServiceTimeout
from services.router.metrics import RouterMetrics
from services.router.pipeline.background import Background
from services.router.ports import RunStore, SmartPath


class TrendRuns:
    """Starts and finishes trend runs."""

    def __init__(
        self,
        smart: SmartPath,
        runs: RunStore,
        clock: Clock,
        background: Background,
        metrics: RouterMetrics,
        *,
        timeout_s: float,
    ) -> None:
        self._smart = smart
        self._runs = runs
        self._clock = clock
        self._background = background
        self._metrics = metrics
        self._timeout_s = timeout_s

    async def start(self, run: Run, command: ReportTrends) -> None:
        """Record ``run`` as running and finish it in the background. Raises
        ``StoreUnavailable``."""
        await self._runs.create(run)
        await self._runs.update(run.tenant_id, run.run_id, "running", when=self._clock.now())
        self._background.spawn(f"trend-run-{run.run_id}", self._finish(run, command))

    async def _finish(self, run: Run, command: ReportTrends) -> None:
        status: RunStatus = "completed"
        result: dict[str, Any] | None = None
        error = None
        try:
            report = await self._smart.report_trends(
                run.tenant_id, command, timeout_s=self._timeout_s
            )
            result = {"trends": [t.model_dump(mode="json") for t in report.trends]}
        except ServiceTimeout as exc:
            result = {"trends": [], "note": str(exc)}
        except DispatchFailed as exc:
            status, error = "failed", str(exc)
        now = self._clock.now()
        if await self._runs.update(
            run.tenant_id, run.run_id, status, when=now, result=result, error=error
        ):
            self._metrics.runs_finished.labels("trend", status).inc()
            seconds = max(0.0, (now - run.created_at).total_seconds())
            self._metrics.perf.smart_path_latency.labels("trend").observe(seconds)
