"""Handler of ``digest.requested.v1``: write (or resume, or replay) the digest."""

from __future__ import annotations

import time
from typing import Any

from contracts.envelope import Envelope, derived_event_id
from contracts.v1.digest import GenerateDigest
from servicekit.clock import Clock
from servicekit.consumer import Handler, MessageContext
from servicekit.lifecycle import LifecyclePublisher
from servicekit.publisher import Publisher
from services.digest.domain.manifest import encode
from services.digest.metrics import DigestMetrics
from services.digest.runner import DigestRunner

TOPIC = "digest.completed.v1"


def make_handler(
    runner: DigestRunner,
    publisher: Publisher,
    lifecycle: LifecyclePublisher,
    metrics: DigestMetrics,
    clock: Clock,
) -> Handler:
    """Run the digest of a ``GenerateDigest`` and publish one ``DigestCompleted`` caused by
    it, to the request's reply topic when it has one, else on ``digest.completed.v1``. The
    event id derives from the request, so a redelivery (or the same run id asked again)
    re-publishes the same stored result instead of writing another digest. Lifecycle:
    ``run_started``, then ``quality_low`` when the best candidate scored below 0.6, then
    ``run_completed`` or ``error`` (failed). Store errors propagate (retried, then DLQ)."""

    async def handle(envelope: Envelope[GenerateDigest], ctx: MessageContext) -> None:
        cmd = envelope.payload
        common: dict[str, Any] = {
            "tenant_id": envelope.tenant_id,
            "run_id": cmd.run_id,
            "domain": "digest",
            "user_id": cmd.user_id,
            "cause": envelope,
        }
        await lifecycle.emit("run_started", details={"kind": cmd.kind, "mode": cmd.mode}, **common)
        started = time.monotonic()
        outcome = await runner.run(envelope.tenant_id, cmd, now=clock.now())
        result = outcome.result
        out = publisher.envelope(
            result,
            topic=TOPIC,
            tenant_id=envelope.tenant_id,
            causation=envelope,
            event_id=derived_event_id(envelope.occurred_at, envelope.event_id, "digest"),
            idempotency_key=f"digest:{cmd.run_id}",
        )
        key = f"{envelope.tenant_id}:{cmd.run_id}"
        # To the requester's reply topic when it named one, else on the topic itself.
        await publisher.publish(out, key=key, physical_topic=ctx.reply_to)
        details = {
            "status": result.status,
            "score": result.quality_score,
            "issues": list(outcome.issues)[:5],
            "replayed": not outcome.fresh,
        }
        if result.status == "quality_low":
            await lifecycle.emit("quality_low", details=details, **common)
        await lifecycle.emit(
            "error" if result.status == "failed" else "run_completed", details=details, **common
        )
        if outcome.fresh:
            metrics.runs.labels(cmd.kind, result.status).inc()
            if result.quality_score is not None:
                metrics.quality.observe(result.quality_score)
            metrics.manifest_bytes.observe(len(encode(outcome.manifest)))
            for name, step in outcome.manifest.get("steps", {}).items():
                metrics.steps.labels(name, str(step.get("status"))).inc()
            if outcome.budget is not None:
                metrics.perf.observe_request(
                    path_type="smart_path",
                    endpoint="digest",
                    latency_s=time.monotonic() - started,
                    budget=outcome.budget,
                    qos_level=cmd.mode,
                )
                metrics.perf.budget_exceeded_for(outcome.budget, endpoint="digest")
        ctx.log.info("digest_written", run_id=cmd.run_id, status=result.status)

    return handle
