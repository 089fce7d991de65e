"""Announcing detections on ``trend.detected.v1`` through the service's publisher."""

from __future__ import annotations

from servicekit.publisher import Publisher
from services.trend.ports import Detection

TOPIC = "trend.detected.v1"


class KafkaDetectionSink:
    """:class:`~services.trend.ports.DetectionSink` on Kafka.

    The envelope's id is the detection's derived id and ``occurred_at`` its event time, so a
    re-publication (outbox after a crash, or a replay) is recognisably the same event.
    """

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    async def publish(self, detection: Detection) -> None:
        trend_id = detection.payload.trend_id
        envelope = self._publisher.envelope(
            detection.payload,
            topic=TOPIC,
            tenant_id=detection.tenant_id,
            correlation_id=f"trend:{trend_id}",
            event_id=detection.event_id,
            occurred_at=detection.detected_at,
            idempotency_key=f"{detection.tenant_id}:{trend_id}:{detection.payload.kind}:"
            f"{detection.detected_at.isoformat()}",
        )
        await self._publisher.publish(envelope, key=f"{detection.tenant_id}:{trend_id}")
