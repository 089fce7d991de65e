"""DLQ throughput on loopback: dead-letter intake, and re-publication of due entries.

- ``dlq_intake_per_s``: dead letters already waiting on ``deadletter.v1`` stored per second
  by one DLQ instance (first to last row written: consumer start-up excluded);
- ``dlq_republish_per_s``: entries re-published per second once they are all due (from the
  moment they fell due to the last broker-acknowledged and confirmed publication), by
  ``replicas`` schedulers sharing the table;
- ``dlq_due_to_published_ms``: per entry, from falling due to its publication confirmed.

Runs in a throwaway database and topic prefix. ``python -m tools.bench_dlq [-n 5000]
[--replicas 1] [--batch-size 100] [--report]`` prints a table; ``--report`` also writes
``reports/bench_dlq.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from contracts.envelope import make_envelope
from contracts.registry import REGISTRY
from contracts.v1.deadletter import DeadLetter
from servicekit.app import ServiceApp
from servicekit.errors import RetryableError
from servicekit.logging import configure_logging
from servicekit.publisher import envelope_headers
from servicekit.settings import load_settings
from servicekit.topics import ensure_topics
from services.dlq.app import build_app
from services.dlq.settings import DlqSettings
from tools.report import percentiles_ms, print_table, write_report
from tools.scratch import scratch_database

TOPIC = "posts.ingested.v1"


async def run(
    dsn: str, bootstrap: str, *, entries: int = 5000, replicas: int = 1, batch_size: int = 100
) -> dict[str, Any]:
    """Measure intake and re-publication of ``entries`` dead letters; return the figures.

    Quiets logging to WARNING (a line per dead letter would be measured otherwise).
    """
    configure_logging("WARNING", json=False)
    prefix = f"benchdlq{uuid.uuid4().hex[:8]}."
    async with scratch_database(dsn, "bench_dlq") as db_dsn, AsyncExitStack() as stack:

        def settings(i: int) -> DlqSettings:
            return load_settings(
                DlqSettings,
                kafka_bootstrap=bootstrap,
                topic_prefix=prefix,
                postgres_dsn=db_dsn,
                instance_id=f"bench{i}",
                retry_base_s=86_400,  # nothing falls due by itself while we measure intake
                poll_interval_s=0.01,
                batch_size=batch_size,
                stats_interval_s=3600,
            )

        await ensure_topics(bootstrap, REGISTRY.values(), prefix=prefix)
        await _produce_dead_letters(bootstrap, prefix, entries)
        await stack.enter_async_context(_running(settings(0)))
        pool = await asyncpg.create_pool(db_dsn, min_size=1, max_size=2)
        stack.push_async_callback(pool.close)
        await _wait_for(pool, "SELECT count(*) FROM dlq.dlq_events", entries, timeout_s=300)
        span = await pool.fetchrow(
            "SELECT min(created_at) AS a, max(created_at) AS b FROM dlq.dlq_events"
        )
        assert span is not None
        # rows of one poll share a created_at: count the first poll's time as one more poll
        intake_s = (span["b"] - span["a"]).total_seconds()
        polls = await pool.fetchval("SELECT count(DISTINCT created_at) FROM dlq.dlq_events")
        intake_s += intake_s / max(1, polls - 1)
        for i in range(1, replicas):
            await stack.enter_async_context(_running(settings(i)))

        due = datetime.now(UTC)
        await pool.execute("UPDATE dlq.dlq_events SET next_retry_at = $1", due)
        sql = "SELECT count(*) FROM dlq.dlq_events WHERE published_at IS NOT NULL"
        await _wait_for(pool, sql, entries, timeout_s=300)
        published = [
            r["published_at"] for r in await pool.fetch("SELECT published_at FROM dlq.dlq_events")
        ]
        republish_s = (max(published) - due).total_seconds()
    return {
        "dlq_entries": entries,
        "dlq_replicas": replicas,
        "dlq_batch_size": batch_size,
        "dlq_intake_per_s": round(entries / intake_s, 1) if intake_s > 0 else None,
        "dlq_republish_per_s": round(entries / republish_s, 1),
        "dlq_due_to_published_ms": percentiles_ms([(p - due).total_seconds() for p in published]),
    }


@asynccontextmanager
async def _running(settings: DlqSettings) -> AsyncIterator[ServiceApp]:
    app = build_app(settings)
    await app.kit.start()
    try:
        yield app
    finally:
        await app.kit.stop()


async def _produce_dead_letters(bootstrap: str, prefix: str, n: int) -> None:
    """``n`` retryable dead letters of distinct records, as the runtime would send them."""
    now = datetime.now(UTC)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=10)
    await producer.start()
    try:
        sends = []
        for i in range(n):
            value = f'{{"n": {i}, "text": "benchmark message {i}"}}'.encode()
            letter = DeadLetter.from_failure(
                original_topic=prefix + TOPIC,
                partition=i % 6,
                offset=i,
                key=b"bench",
                value=value,
                headers={"event-type": b"posts.ingested"},
                error=RetryableError("store down"),
                error_category="retryable",
                service="bench",
                consumer_group=prefix + "bench",
                attempt=1,
                failed_at=now,
            )
            env = make_envelope(
                letter,
                event_type="deadletter",
                schema_version=1,
                producer="bench@0",
                tenant_id="bench",
            )
            sends.append(
                await producer.send(
                    prefix + "deadletter.v1",
                    env.model_dump_json().encode(),
                    key=f"{TOPIC}:{i % 6}".encode(),
                    headers=[(k, v.encode()) for k, v in envelope_headers(env).items()],
                )
            )
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def _wait_for(pool: asyncpg.Pool, sql: str, n: int, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if await pool.fetchval(sql) >= n:
                return
        except asyncpg.UndefinedTableError:
            pass  # not migrated yet
        if time.monotonic() > deadline:
            raise TimeoutError(f"{sql!r} did not reach {n} in {timeout_s} s")
        await asyncio.sleep(0.02)


def print_figures(figures: dict[str, Any]) -> None:
    """The table ``make bench`` shows for the DLQ."""
    print(
        f"\nDLQ on loopback: {figures['dlq_entries']} entries, "
        f"{figures['dlq_replicas']} scheduler replica(s), batches of {figures['dlq_batch_size']}"
    )
    print(f"  {'dlq_intake_per_s (dead letters stored)':<44}{figures['dlq_intake_per_s']:>12}")
    print(f"  {'dlq_republish_per_s (due → re-published)':<44}{figures['dlq_republish_per_s']:>12}")
    print_table(
        "DLQ due → re-published, per entry, milliseconds",
        [("dlq_due_to_published_ms", figures["dlq_due_to_published_ms"])],
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--entries", type=int, default=5000)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument(
        "--bootstrap", default=os.environ.get("TGI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    )
    parser.add_argument(
        "--dsn",
        default=os.environ.get("TGI_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:55432/tgint"),
    )
    parser.add_argument("--report", action="store_true", help="write reports/bench_dlq.json")
    args = parser.parse_args()
    figures = asyncio.run(
        run(
            args.dsn,
            args.bootstrap,
            entries=args.entries,
            replicas=args.replicas,
            batch_size=args.batch_size,
        )
    )
    print_figures(figures)
    if args.report:
        print(f"\nwrote {write_report('bench_dlq', figures)}")


if __name__ == "__main__":
    cli()
