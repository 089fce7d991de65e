"""Re-publishing a retry through the runtime's publisher, bounded in time."""

from __future__ import annotations

import asyncio

from servicekit.publisher import Publisher
from services.dlq.ports import Lease


class KafkaRetryPublisher:
    """:class:`~services.dlq.ports.RetryPublisher` on :meth:`Publisher.publish_raw`.

    The timeout keeps a publish inside its lease: a send still unacknowledged after
    ``timeout_s`` is reported as failed (it may still land; the lease protocol then yields a
    duplicate, which consumers absorb, never a loss).
    """

    def __init__(self, publisher: Publisher, timeout_s: float) -> None:
        self._publisher = publisher
        self._timeout_s = timeout_s

    async def publish(self, lease: Lease, headers: dict[str, str]) -> None:
        await asyncio.wait_for(
            self._publisher.publish_raw(
                lease.payload, physical_topic=lease.topic, key=lease.key, headers=headers
            ),
            self._timeout_s,
        )
