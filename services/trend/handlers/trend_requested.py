"""Handler of ``trend.requested.v1``: one ``TrendsReported`` with the tenant's current trends."""

from __future__ import annotations

from typing import Any

from contracts.envelope import Envelope, derived_event_id
from contracts.v1.trend import ReportTrends, TrendsReported
from servicekit.consumer import Handler, MessageContext
from servicekit.lifecycle import LifecyclePublisher
from servicekit.publisher import Publisher
from services.trend.engine import TrendEngine
from services.trend.metrics import TrendMetrics
from services.trend.render import to_payload

TOPIC = "trend.reported.v1"


def make_handler(
    engine: TrendEngine,
    publisher: Publisher,
    lifecycle: LifecyclePublisher,
    metrics: TrendMetrics,
) -> Handler:
    """Answer a ``ReportTrends`` with exactly one ``TrendsReported`` — the current trends
    (emerging first, at most ``limit``, each carrying the ``request_id``), an empty list when
    nothing trends — to the request's reply topic when it has one, else on
    ``trend.reported.v1``, caused by the request. The event id derives from the request, so a
    redelivered request is answered with the same event id. Then one ``run_completed``
    caused by the request. Raises what the store or the broker raises (the runtime retries)."""

    async def handle(envelope: Envelope[ReportTrends], ctx: MessageContext) -> None:
        request = envelope.payload
        report = await engine.report(envelope.tenant_id, request)
        answer = TrendsReported(
            request_id=request.request_id,
            trends=[to_payload(c, request_id=request.request_id) for c in report.cards],
            as_of=report.as_of,
        )
        out = publisher.envelope(
            answer,
            topic=TOPIC,
            tenant_id=envelope.tenant_id,
            causation=envelope,
            event_id=derived_event_id(envelope.occurred_at, envelope.event_id, "reported"),
            idempotency_key=f"{envelope.tenant_id}:{request.request_id}",
        )
        key = f"{envelope.tenant_id}:{request.request_id}"
        # To the requester's reply topic when it named one, else on the topic itself.
        await publisher.publish(out, key=key, physical_topic=ctx.reply_to)
        metrics.requests.labels(route="reply_to" if ctx.reply_to else "topic").inc()
        await lifecycle.emit(
            "run_completed",
            tenant_id=envelope.tenant_id,
            run_id=envelope.correlation_id,
            domain="trend",
            user_id=request.user_id,
            details=_details(request, [c.kind for c in report.cards], bool(ctx.reply_to)),
            cause=envelope,
        )

    return handle


def _details(request: ReportTrends, kinds: list[Any], replied: bool) -> dict[str, Any]:
    return {
        "stage": "report",
        "request_id": request.request_id,
        "trends": len(kinds),
        "emerging": kinds.count("emerging"),
        "stable": kinds.count("stable"),
        "reply_to": replied,
    }
