"""Kafka helpers for tests, written the way another team's consumer would be (plain aiokafka)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient

MAX_BYTES = 16 * 1024 * 1024


async def produce(
    bootstrap: str,
    topic: str,
    value: bytes,
    *,
    key: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Publish one record and wait for the acknowledgement."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=MAX_BYTES)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic,
            value,
            key=key,
            headers=[(k, v.encode()) for k, v in (headers or {}).items()],
        )
    finally:
        await producer.stop()


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[ConsumerRecord[Any, Any]]], bool],
    timeout_s: float = 30.0,
) -> list[ConsumerRecord[Any, Any]]:
    """Read ``topic`` from the beginning until ``until(records)`` holds; raise on timeout."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=MAX_BYTES,
        fetch_max_bytes=MAX_BYTES,
    )
    await consumer.start()
    records: list[ConsumerRecord[Any, Any]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while not until(records):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{topic}: condition not met, {len(records)} records read")
            batch = await consumer.getmany(timeout_ms=int(min(remaining, 0.5) * 1000))
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


async def committed_offset(bootstrap: str, group: str, topic: str) -> int:
    """Sum of committed offsets of ``group`` over the partitions of ``topic`` (-1 = none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    found = [meta.offset for tp, meta in offsets.items() if tp.topic == topic]
    return sum(found) if found else -1


async def eventually(check: Callable[[], Any], *, timeout_s: float = 20.0) -> Any:
    """Await ``check()`` (sync or async) until it returns a truthy value."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.1)
