"""After the answer: the conversation turn, the run record, lifecycle events, metrics.

Recording never fails an answer that was computed: Postgres not answering is logged and
counted (the turn is then missing from history), a lifecycle event that cannot be published
is logged. ``run_started`` is published together with the completion (one produce request,
same partition) but stamped with the time the run started: a fast run lasts milliseconds,
and one broker round trip less per request is worth more than an early trace. For the same
reason the answer does not wait for the broker to acknowledge the two events
(``LifecyclePublisher.emit_soon``; the service waits for them when it stops).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from contracts.envelope import Envelope
from servicekit.clock import Clock
from servicekit.logging import get_logger
from services.router.domain.model import Run, Turn
from services.router.errors import StoreUnavailable
from services.router.metrics import RouterMetrics
from services.router.pipeline.model import Outcome, RunState, run_result
from services.router.ports import Lifecycle, RunStore, TurnStore

_log = get_logger(__name__)
EventKind = Literal["run_started", "run_completed", "error"]


class Journal:
    """Writes down what one request did."""

    def __init__(
        self,
        turns: TurnStore,
        runs: RunStore,
        lifecycle: Lifecycle,
        metrics: RouterMetrics,
        clock: Clock,
    ) -> None:
        self._turns = turns
        self._runs = runs
        self._lifecycle = lifecycle
        self._metrics = metrics
        self._clock = clock

    async def finished(
        self, s: RunState, outcome: Outcome, started_at: datetime, cause: Envelope[Any] | None
    ) -> None:
        """Record the turn and the run, publish ``run_started`` and ``run_completed`` (or
        ``error``). Raises only on a bug (an unexpected store error)."""
        self._started(s, started_at)
        await self._record(s, outcome, cause)

    async def failed(
        self, s: RunState, started_at: datetime, exc: BaseException, cause: Envelope[Any] | None
    ) -> None:
        """Publish ``run_started`` and ``error`` for a request that raised."""
        details = {"error": type(exc).__name__, "message": str(exc)[:300]}
        self._started(s, started_at)
        self._emit("error", s, "query", details, cause=cause)

    async def _record(self, s: RunState, outcome: Outcome, cause: Envelope[Any] | None) -> None:
        now = self._clock.now()
        p = s.principal
        writes: list[Any] = []
        if outcome.status != "failed":
            turn = Turn(
                tenant_id=p.tenant_id,
                user_id=p.user_id,
                run_id=s.run_id,
                query=s.query.text,
                answer=outcome.answer,
                route=outcome.route,
                created_at=now,
                window=outcome.window,
            )
            writes.append(self._turns.add(turn))
        if not outcome.accepted:
            run = Run(
                run_id=s.run_id,
                tenant_id=p.tenant_id,
                user_id=p.user_id,
                kind=outcome.route,
                status="failed" if outcome.status == "failed" else "completed",
                created_at=now,
                updated_at=now,
                completed_at=now,
                request=s.query.as_request(),
                result=run_result(outcome, p.user_id),
                error="retrieval unavailable" if outcome.status == "failed" else None,
            )
            writes.append(self._runs.create(run))
        kind: Literal["run_completed", "error"] = (
            "error" if outcome.status == "failed" else "run_completed"
        )
        details: dict[str, Any] = {
            "route": outcome.route,
            "status": outcome.status,
            "mode": outcome.mode,
            "stage": outcome.stage,
            "latency_ms": outcome.latency_ms,
            "llm_calls": outcome.usage.llm_calls,
            "tokens": outcome.usage.tokens_in + outcome.usage.tokens_out,
            "agent_steps": outcome.usage.agent_steps,
            "citations": len(outcome.sources),
            "degraded": outcome.degraded,
        }
        self._emit(kind, s, outcome.route, details, cause=cause)
        results = await asyncio.gather(*writes, return_exceptions=True)
        for result in results:
            if isinstance(result, StoreUnavailable):
                _log.warning("turn_not_recorded", run_id=s.run_id, error=str(result)[:200])
                self._metrics.dependency_failures.labels("postgres").inc()
            elif isinstance(result, BaseException):
                raise result

    def _started(self, s: RunState, when: datetime) -> None:
        self._emit(
            "run_started",
            s,
            "query",
            {"origin": s.query.origin, "qos": s.query.qos},
            cause=None,
            occurred_at=when,
        )

    def _emit(
        self,
        kind: EventKind,
        s: RunState,
        domain: str,
        details: dict[str, Any],
        *,
        cause: Envelope[Any] | None,
        occurred_at: datetime | None = None,
    ) -> None:
        # A lost trace must not fail the answer: a failed publish is logged, not raised.
        self._lifecycle.emit_soon(
            kind,
            tenant_id=s.principal.tenant_id,
            run_id=s.run_id,
            domain=domain,
            details=details,
            user_id=s.principal.user_id,
            cause=cause,
            occurred_at=occurred_at,
        )

    def observe(self, s: RunState, outcome: Outcome, endpoint: str) -> None:
        """Per-hop durations, the answer's route/status/mode, and the seed's metrics."""
        m = self._metrics
        for hop, ms in s.hops.ms.items():
            m.hop_seconds.labels(hop).observe(ms / 1000)
        m.answers.labels(outcome.route, outcome.status, outcome.mode).inc()
        perf = m.perf
        if outcome.path_type == "fast_path":
            perf.observe_request(
                path_type="fast_path",
                endpoint=endpoint,
                latency_s=outcome.latency_ms / 1000,
                budget=s.budget,
                qos_level=s.query.qos,
            )
        else:
            # The smart path's latency is the run's, observed when it completes; here only
            # what the gateway spent on accepting it.
            perf.llm_calls_per_request.labels("smart_path", endpoint).observe(s.budget.llm_calls)
            perf.tokens_per_request.labels("smart_path", endpoint).observe(s.budget.tokens)
            perf.agent_steps_per_request.labels("smart_path", endpoint).observe(
                s.budget.agent_steps
            )
            perf.qos_requests.labels(s.query.qos, "smart_path", endpoint).inc()
        for budget_kind in sorted(s.budget.exceeded):
            perf.budget_exceeded(kind=budget_kind, path_type=outcome.path_type, endpoint=endpoint)
