"""Handler of ``trend.requested.v1``: the tenant's current trends, one ``TrendDetected`` each."""

from __future__ import annotations

from typing import Any

from contracts.envelope import Envelope, derived_event_id
from contracts.v1.trend import ReportTrends
from servicekit.consumer import Handler, MessageContext
from servicekit.lifecycle import LifecyclePublisher
from servicekit.publisher import Publisher
from services.trend.engine import TrendEngine
from services.trend.metrics import TrendMetrics
from services.trend.render import to_payload

TOPIC = "trend.detected.v1"


def make_handler(
    engine: TrendEngine,
    publisher: Publisher,
    lifecycle: LifecyclePublisher,
    metrics: TrendMetrics,
) -> Handler:
    """Answer a ``ReportTrends``: each current trend (emerging first, at most ``limit``) is
    published as a ``TrendDetected`` carrying the ``request_id`` — to the request's reply
    topic when it has one, else on ``trend.detected.v1`` — caused by the request. Event ids
    derive from the request and the trend, so a redelivered request re-publishes the same
    events. Then one ``run_completed`` caused by the request (also when nothing trends)."""

    async def handle(envelope: Envelope[ReportTrends], ctx: MessageContext) -> None:
        request = envelope.payload
        cards = await engine.report(envelope.tenant_id, request)
        for card in cards:
            out = publisher.envelope(
                to_payload(card, request_id=request.request_id),
                topic=TOPIC,
                tenant_id=envelope.tenant_id,
                causation=envelope,
                event_id=derived_event_id(envelope.occurred_at, envelope.event_id, card.trend_id),
                idempotency_key=f"{request.request_id}:{card.trend_id}",
            )
            key = f"{envelope.tenant_id}:{card.trend_id}"
            if ctx.reply_to:
                await publisher.publish(out, key=key, physical_topic=ctx.reply_to)
            else:
                await publisher.publish(out, key=key)
        metrics.requests.labels(route="reply_to" if ctx.reply_to else "topic").inc()
        await lifecycle.emit(
            "run_completed",
            tenant_id=envelope.tenant_id,
            run_id=envelope.correlation_id,
            domain="trend",
            user_id=request.user_id,
            details=_details(request, [c.kind for c in cards], bool(ctx.reply_to)),
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
