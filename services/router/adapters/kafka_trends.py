"""The trend service over Kafka request/reply.

The trend service answers one ``ReportTrends`` with exactly one ``TrendsReported`` (its list
possibly empty) on the request's reply topic; that reply completes the request at once, so "no
trends" is an empty answer, not a timeout. The kit's request/reply client is not used: this
adapter has a reply topic of its own (``replies.router-trends.<instance>``, created at
start-up) and matches replies by ``request_id`` and tenant. A trend service of the previous
release answered with one ``TrendDetected`` per trend and nothing when nothing trended; those
replies are still gathered (until ``limit`` arrived, or ``quiet_s`` passed without another).
No reply at all before the deadline raises ``ServiceTimeout`` (the service is down or busy).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

from faststream import AckPolicy
from faststream.kafka.annotations import KafkaMessage

from contracts.errors import ContractError
from contracts.registry import parse_envelope
from contracts.v1.trend import ReportTrends, TrendDetected, TrendsReported
from servicekit.app import ServiceKit
from servicekit.consumer import single_record
from servicekit.kafka import MAX_REQUEST_BYTES
from servicekit.logging import get_logger
from servicekit.publisher import Publisher
from servicekit.topics import ensure_topics
from services.router.errors import DispatchFailed, ServiceTimeout
from services.router.ports import TrendReport

_log = get_logger(__name__)
TOPIC: Final = "trend.requested.v1"


class _Gathering:
    def __init__(self, tenant_id: str, limit: int) -> None:
        self.tenant_id = tenant_id
        self.limit = limit
        self.trends: list[TrendDetected] = []
        self.complete = False
        """A ``TrendsReported`` arrived: ``trends`` is the whole answer."""
        self.changed = asyncio.Event()


class KafkaTrends:
    """Asks the trend service and waits for all its replies, bounded."""

    def __init__(self, publisher: Publisher, reply_topic: str, *, quiet_s: float = 0.15) -> None:
        self._publisher = publisher
        self.reply_topic = reply_topic
        self._quiet_s = quiet_s
        self._pending: dict[str, _Gathering] = {}

    def attach(self, kit: ServiceKit) -> None:
        """Create the reply topic at start-up and consume it (no group: every instance reads
        only its own topic, from the latest offset)."""
        settings = kit.settings

        async def create_topic() -> None:
            await ensure_topics(settings.kafka_bootstrap, [], extra=[(self.reply_topic, 1)])

        kit.on_startup("trend-reply-topic", create_topic)
        subscriber = kit.broker.subscriber(
            self.reply_topic,
            group_id=None,
            auto_offset_reset="latest",
            ack_policy=AckPolicy.ACK_FIRST,
            max_partition_fetch_bytes=MAX_REQUEST_BYTES,
            decoder=_raw,
        )

        async def on_reply(msg: KafkaMessage) -> None:
            self.on_reply(single_record(msg).value or b"")

        subscriber(on_reply)

    def on_reply(self, value: bytes) -> None:
        """One reply: kept when it answers a request still waiting, of its tenant."""
        try:
            reply = parse_envelope(value)
        except ContractError as exc:
            _log.warning("trend_bad_reply", error=str(exc)[:200])
            return
        payload = reply.payload
        if not isinstance(payload, TrendsReported | TrendDetected) or payload.request_id is None:
            return
        waiting = self._pending.get(payload.request_id)
        if waiting is None or waiting.tenant_id != reply.tenant_id or waiting.complete:
            return
        if isinstance(payload, TrendsReported):
            waiting.trends = list(payload.trends[: waiting.limit])
            waiting.complete = True
        elif len(waiting.trends) < waiting.limit:
            waiting.trends.append(payload)
        waiting.changed.set()

    async def report_trends(
        self, tenant_id: str, command: ReportTrends, *, timeout_s: float
    ) -> TrendReport:
        waiting = _Gathering(tenant_id, command.limit)
        self._pending[command.request_id] = waiting
        deadline = time.monotonic() + timeout_s
        try:
            envelope = self._publisher.envelope(command, topic=TOPIC, tenant_id=tenant_id)
            try:
                await self._publisher.publish(
                    envelope, key=f"{tenant_id}:{command.request_id}", reply_to=self.reply_topic
                )
            except Exception as exc:
                raise DispatchFailed(f"trend request not published: {exc!r}"[:300]) from exc
            while not waiting.complete and len(waiting.trends) < waiting.limit:
                left = deadline - time.monotonic()
                wait_s = left if not waiting.trends else min(left, self._quiet_s)
                if wait_s <= 0:
                    break
                waiting.changed.clear()
                try:
                    await asyncio.wait_for(waiting.changed.wait(), wait_s)
                except TimeoutError:
                    break
        finally:
            self._pending.pop(command.request_id, None)
        if not waiting.complete and not waiting.trends:
            raise ServiceTimeout(
                f"the trend service did not answer within {timeout_s:g} s: it is not "
                "running or busy (a trend service older than trend.reported.v1 sends nothing "
                "when there are no current trends)"
            )
        return TrendReport(command.request_id, trends=waiting.trends)


async def _raw(msg: Any) -> Any:
    return msg.body
