"""Handler of ``queries.answered.v1`` from the digest and trend services: finish the
smart-path run an answer names (by ``run_id``, else ``query_id``).

The router's own answers on the same topic are skipped by producer. ``accepted`` moves a
run to running; ``answered``/``no_results`` complete it; ``failed``/``rejected`` fail it.
"""

from __future__ import annotations

from typing import Any, Final

from contracts.envelope import Envelope
from contracts.v1.queries import QueryAnswered
from servicekit.clock import Clock
from servicekit.consumer import Handler, MessageContext
from services.router.domain.model import RunStatus
from services.router.metrics import RouterMetrics
from services.router.ports import RunStore

_STATUS: Final[dict[str, RunStatus]] = {
    "accepted": "running",
    "answered": "completed",
    "no_results": "completed",
    "failed": "failed",
    "rejected": "failed",
}


def make_handler(runs: RunStore, metrics: RouterMetrics, clock: Clock) -> Handler:
    """Complete smart-path runs from other services' answers."""

    async def handle(env: Envelope[Any], ctx: MessageContext) -> None:
        if env.producer.startswith("router@"):
            return
        answer: QueryAnswered = env.payload
        run = None
        for run_id in dict.fromkeys(filter(None, (answer.run_id, answer.query_id))):
            run = await runs.get(env.tenant_id, run_id)
            if run is not None:
                break
        if run is None or run.kind not in ("digest", "trend"):
            return
        status = _STATUS[answer.status]
        now = clock.now()
        changed = await runs.update(
            env.tenant_id,
            run.run_id,
            status,
            when=now,
            result={"answered": answer.model_dump(mode="json")} if status != "running" else None,
            error=answer.answer[:500] if status == "failed" else None,
        )
        if changed and status != "running":
            metrics.runs_finished.labels(run.kind, status).inc()
            seconds = max(0.0, (now - run.created_at).total_seconds())
            metrics.perf.smart_path_latency.labels(run.kind).observe(seconds)
            ctx.log.info("run_finished", run_id=run.run_id, status=status)

    return handle
