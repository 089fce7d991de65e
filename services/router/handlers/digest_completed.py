"""Handler of ``digest.completed.v1``: finish the digest run it names.

The run's status becomes the digest's (completed, quality_low, failed) and its result the
event's payload. Only a run of the envelope's tenant is touched; a redelivery, or an event
for a run the router did not start, changes nothing.
"""

from __future__ import annotations

from typing import Any

from contracts.envelope import Envelope
from contracts.v1.digest import DigestCompleted
from servicekit.clock import Clock
from servicekit.consumer import Handler, MessageContext
from services.router.metrics import RouterMetrics
from services.router.ports import RunStore


def make_handler(runs: RunStore, metrics: RouterMetrics, clock: Clock) -> Handler:
    """Complete digest runs."""

    async def handle(env: Envelope[Any], ctx: MessageContext) -> None:
        done: DigestCompleted = env.payload
        run = await runs.get(env.tenant_id, done.run_id)
        if run is None or run.kind != "digest":
            ctx.log.info("digest_completed_unknown_run", run_id=done.run_id)
            return
        now = clock.now()
        changed = await runs.update(
            env.tenant_id,
            done.run_id,
            done.status,
            when=now,
            result=done.model_dump(mode="json"),
            error="the digest service could not write this digest"
            if done.status == "failed"
            else None,
        )
        if changed:
            metrics.runs_finished.labels("digest", done.status).inc()
            seconds = max(0.0, (now - run.created_at).total_seconds())
            metrics.perf.smart_path_latency.labels("digest").observe(seconds)
            ctx.log.info("digest_run_finished", run_id=done.run_id, status=done.status)

    return handle
