"""Publishing envelopes: headers that let consumers route before parsing, keys, replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from faststream.kafka import KafkaBroker
from pydantic import BaseModel

from contracts import headers as H
from contracts.envelope import Envelope, make_envelope
from contracts.registry import REGISTRY
from servicekit.clock import Clock
from servicekit.metrics import KitMetrics
from servicekit.settings import ServiceSettings


class Publisher:
    """Builds and publishes envelopes for one service.

    ``topic`` arguments are logical names from the registry (``posts.indexed.v1``); the
    service's topic prefix is applied here, once.
    """

    def __init__(
        self,
        broker: KafkaBroker,
        settings: ServiceSettings,
        metrics: KitMetrics,
        clock: Clock,
    ) -> None:
        self._broker = broker
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self.producer = f"{settings.service_name}@{settings.version}"

    def envelope(
        self,
        payload: BaseModel,
        *,
        topic: str,
        tenant_id: str,
        correlation_id: str | None = None,
        causation: Envelope[Any] | None = None,
        idempotency_key: str | None = None,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope[Any]:
        """Wrap ``payload`` for the registered ``topic`` (type and version from the registry)."""
        spec = REGISTRY[topic]
        return make_envelope(
            payload,
            event_type=spec.event_type,
            schema_version=spec.version,
            producer=self.producer,
            tenant_id=tenant_id,
            correlation_id=correlation_id,
            causation=causation,
            idempotency_key=idempotency_key,
            event_id=event_id,
            occurred_at=occurred_at or self._clock.now(),
        )

    async def publish(
        self,
        envelope: Envelope[Any],
        *,
        key: str | bytes | None = None,
        topic: str | None = None,
        physical_topic: str | None = None,
        headers: dict[str, str] | None = None,
        reply_to: str | None = None,
    ) -> None:
        """Publish ``envelope`` and wait for the broker's acknowledgement.

        ``topic`` defaults to ``<event_type>.v<schema_version>``; ``physical_topic`` bypasses the
        prefix (used for replies, whose topic names arrive already physical).
        """
        logical = topic or f"{envelope.event_type}.v{envelope.schema_version}"
        target = physical_topic or self._settings.topic(logical)
        await self._broker.publish(
            envelope.model_dump_json().encode(),
            target,
            key=key.encode() if isinstance(key, str) else key,
            headers={**envelope_headers(envelope, reply_to), **(headers or {})},
            correlation_id=envelope.correlation_id,
        )
        self._metrics.published.labels(topic=logical).inc()

    async def publish_raw(
        self,
        value: bytes,
        *,
        physical_topic: str,
        key: bytes | None,
        headers: dict[str, str],
    ) -> None:
        """Publish bytes as they are (dead letters, DLQ re-publication)."""
        await self._broker.publish(value, physical_topic, key=key, headers=headers)


def envelope_headers(envelope: Envelope[Any], reply_to: str | None = None) -> dict[str, str]:
    """The headers every envelope travels with, plus ``reply-to`` for a request."""
    headers = H.envelope_headers(envelope)
    if reply_to:
        headers[H.REPLY_TO] = reply_to
    return headers
