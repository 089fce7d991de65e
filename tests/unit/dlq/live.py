"""Helpers for the dlq integration tests (real Kafka and Postgres); no tests here."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from contracts import headers as H
from contracts.envelope import Envelope
from servicekit.app import ServiceApp
from servicekit.publisher import envelope_headers
from servicekit.settings import load_settings
from services.dlq.app import DlqParts, build_app
from services.dlq.ports import EntryQuery, EntrySummary
from services.dlq.settings import DlqSettings
from tests.helpers.kafka import MAX_BYTES

POSTS = "posts.ingested.v1"


def dlq_settings(bootstrap: str, prefix: str, dsn: str, **overrides: Any) -> DlqSettings:
    """Fast settings: millisecond backoff, no jitter, quick polls."""
    values: dict[str, Any] = {
        "kafka_bootstrap": bootstrap,
        "topic_prefix": prefix,
        "postgres_dsn": dsn,
        "retry_base_s": 0.3,
        "retry_jitter": 0.0,
        "poll_interval_s": 0.05,
        "stats_interval_s": 0.5,
        "startup_timeout_s": 30,
    }
    values.update(overrides)
    return load_settings(DlqSettings, **values)


@asynccontextmanager
async def running_dlq(settings: DlqSettings) -> AsyncIterator[ServiceApp]:
    """An in-process dlq service, started and stopped."""
    app = build_app(settings)
    await app.kit.start()
    try:
        yield app
    finally:
        await app.kit.stop()


def parts(app: ServiceApp) -> DlqParts:
    return cast(DlqParts, app.deps)


async def entries(app: ServiceApp, topic: str = POSTS, **filters: Any) -> list[EntrySummary]:
    """This deployment's entries of ``topic`` (tests share one database)."""
    physical = parts(app).operator.prefix + topic
    return await parts(app).operator_store.query(
        EntryQuery(limit=1000, topics=(physical,), **filters)
    )


async def produce_envelopes(
    bootstrap: str, topic: str, envelopes: Sequence[Envelope[Any]], *, key: bytes | None = None
) -> None:
    """Publish envelopes with their headers, all at once."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, max_request_size=MAX_BYTES, linger_ms=5
    )
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic,
                e.model_dump_json().encode(),
                key=key,
                headers=[(k, v.encode()) for k, v in envelope_headers(e).items()],
            )
            for e in envelopes
        ]
        for f in futures:
            await f
    finally:
        await producer.stop()


def header(record: ConsumerRecord[Any, Any], name: str) -> str | None:
    for k, v in record.headers or ():
        if k == name:
            return str(v.decode())
    return None


def retries_by_entry(records: Sequence[ConsumerRecord[Any, Any]]) -> Counter[str]:
    """Re-publications on a topic, counted per DLQ entry id (originals are not counted)."""
    return Counter(e for e in (header(r, H.DLQ_ENTRY_ID) for r in records) if e is not None)


async def read_all(
    bootstrap: str, topic: str, *, settle_s: float = 1.0, timeout_s: float = 60.0
) -> list[ConsumerRecord[Any, Any]]:
    """Every record of ``topic``: read from the start until nothing new came for ``settle_s``."""
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
    quiet_since = time.monotonic()
    try:
        while time.monotonic() - quiet_since < settle_s:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: still receiving after {timeout_s} s")
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
                quiet_since = time.monotonic()
    finally:
        await consumer.stop()
    return records
