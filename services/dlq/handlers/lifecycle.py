"""Subscription to ``lifecycle.v1``: the DLQ observes success reports of its retries.

Not through the runtime's consumer on purpose. The memory service owns ``lifecycle.v1``: it
validates every event and dead-letters what it cannot read. The DLQ only looks for
``run_completed`` events naming one of its entries, so it reads raw records, skips the rest
without parsing, and never dead-letters a lifecycle event a second time. Its consumer group
is its own, so it sees every event whatever memory does. Offsets are committed manually,
after the batch's resolutions are stored; on an unexpected error the batch is rewound.
"""

from __future__ import annotations

import asyncio
from typing import Any

from faststream import AckPolicy
from faststream.kafka.annotations import KafkaMessage

from servicekit.app import ServiceKit
from servicekit.kafka import FULL_FETCH_BYTES
from servicekit.logging import get_logger
from services.dlq.resolution import Resolution

TOPIC = "lifecycle.v1"
_log = get_logger(__name__)


def subscribe(kit: ServiceKit, resolution: Resolution, *, group: str, linger_ms: int = 0) -> None:
    """Register the batch subscriber on ``kit``'s broker (started with the kit); with
    ``linger_ms`` the broker holds a fetch that long for a fuller poll."""
    subscriber = kit.broker.subscriber(
        kit.settings.topic(TOPIC),
        batch=True,
        max_records=500,
        batch_timeout_ms=200,
        group_id=group,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        decoder=_raw,
        # aiokafka's defaults (1 byte, 500 ms) without a linger
        fetch_min_bytes=FULL_FETCH_BYTES if linger_ms > 0 else 1,
        fetch_max_wait_ms=linger_ms if linger_ms > 0 else 500,
    )

    async def on_lifecycle(msg: KafkaMessage) -> None:
        raw = msg.raw_message
        records = raw if isinstance(raw, (tuple, list)) else (raw,)
        try:
            await resolution.accept([r.value for r in records])
        except Exception as exc:  # a bug: rewind, so nothing is skipped, and slow the loop
            _log.exception("resolution_failed", error=repr(exc), records=len(records))
            await msg.nack()
            await asyncio.sleep(1.0)
            return
        await msg.ack()

    subscriber(on_lifecycle)


async def _raw(msg: Any) -> Any:
    return msg.body
