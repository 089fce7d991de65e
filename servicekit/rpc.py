"""Request/reply over Kafka with a deadline.

FastStream's ``broker.request()`` works only against its in-memory test broker, so this is the
real-broker version: the requester publishes the request with a reply-to header naming its own
reply topic; the responder publishes its answer there with ``causation_id`` set to the request's
``event_id``; the requester's reply consumer resolves the waiting future by that id.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from faststream.kafka import KafkaMessage

from contracts.envelope import Envelope
from contracts.errors import ContractError
from contracts.registry import parse_envelope
from servicekit.consumer import single_record
from servicekit.logging import get_logger
from servicekit.metrics import KitMetrics
from servicekit.publisher import Publisher

_log = get_logger(__name__)


class RequestTimeout(TimeoutError):
    """No reply arrived before the deadline."""


class RequestReplyClient:
    """Sends requests and waits for replies on this instance's own reply topic."""

    def __init__(self, publisher: Publisher, reply_topic: str, metrics: KitMetrics) -> None:
        self._publisher = publisher
        self.reply_topic = reply_topic
        self._metrics = metrics
        self._pending: dict[str, asyncio.Future[Envelope[Any]]] = {}

    async def request(
        self,
        envelope: Envelope[Any],
        *,
        key: str | bytes | None = None,
        timeout_s: float = 5.0,
    ) -> Envelope[Any]:
        """Publish ``envelope`` and return the reply envelope, or raise :class:`RequestTimeout`."""
        topic = f"{envelope.event_type}.v{envelope.schema_version}"
        future: asyncio.Future[Envelope[Any]] = asyncio.get_running_loop().create_future()
        self._pending[envelope.event_id] = future
        started = time.monotonic()
        try:
            await self._publisher.publish(envelope, key=key, reply_to=self.reply_topic)
            reply = await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            self._metrics.rpc_timeouts.labels(topic=topic).inc()
            raise RequestTimeout(f"no reply to {topic} within {timeout_s:.2f} s") from None
        finally:
            self._pending.pop(envelope.event_id, None)
        self._metrics.rpc_seconds.labels(topic=topic).observe(time.monotonic() - started)
        return reply

    async def on_reply(self, msg: KafkaMessage) -> None:
        """Consumer of the reply topic: resolve the matching future; ignore strays."""
        try:
            reply = parse_envelope(single_record(msg).value or b"")
        except ContractError as exc:
            _log.warning("rpc_bad_reply", error=str(exc))
            return
        future = self._pending.get(reply.causation_id or "")
        if future is not None and not future.done():
            future.set_result(reply)
