"""The smart path over Kafka: digest commands, and trend reports (see ``kafka_trends``)."""

from __future__ import annotations

from contracts.v1.digest import GenerateDigest
from contracts.v1.trend import ReportTrends
from servicekit.publisher import Publisher
from services.router.adapters.kafka_trends import KafkaTrends
from services.router.errors import DispatchFailed
from services.router.ports import TrendReport


class KafkaSmartPath:
    """:class:`~services.router.ports.SmartPath` over the kit's publisher and ``KafkaTrends``."""

    def __init__(self, publisher: Publisher, trends: KafkaTrends) -> None:
        self._publisher = publisher
        self._trends = trends

    async def request_digest(
        self, tenant_id: str, command: GenerateDigest, *, correlation_id: str
    ) -> None:
        envelope = self._publisher.envelope(
            command,
            topic="digest.requested.v1",
            tenant_id=tenant_id,
            correlation_id=correlation_id,
            idempotency_key=f"digest:{command.run_id}",
        )
        try:
            await self._publisher.publish(envelope, key=f"{tenant_id}:{command.run_id}")
        except Exception as exc:
            raise DispatchFailed(f"digest request not published: {exc!r}"[:300]) from exc

    async def report_trends(
        self, tenant_id: str, command: ReportTrends, *, timeout_s: float
    ) -> TrendReport:
        return await self._trends.report_trends(tenant_id, command, timeout_s=timeout_s)
