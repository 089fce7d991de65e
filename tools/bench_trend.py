"""Trend-service throughput on the replay of the shipped 2024-11-26..12-04 window.

- ``engine``: the trend engine alone (cluster, count, test, cards) on an in-memory store, the
  replay fed in batches of 500 in event-time order — the ceiling of the domain code;
- ``service``: the real service in-process on Kafka and Postgres (a scratch database, a unique
  topic prefix): the replay's ``posts.indexed.v1`` events are published first, then the
  service starts and drains them; ``posts_per_s`` counts from the service being ready to the
  last post stored (the drain rate: parse, hold in the inbox, reorder across the six
  partitions, process, store, announce); it includes the final ``idle_partition_s`` (5 s here)
  wait for the last partitions to go quiet.

``python -m tools.bench_trend`` prints the figures; ``run()`` returns them. Building the
replay (NER of ~5 400 posts) takes about a minute unless ``--cache`` holds it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from contracts import headers as H
from contracts.envelope import make_envelope
from contracts.registry import REGISTRY
from contracts.v1.posts import PostIndexed
from servicekit.settings import load_settings
from servicekit.topics import ensure_topics
from services.trend.app import build_app
from services.trend.settings import TrendSettings
from tools.eval_trend import build_replay, replay
from tools.scratch import scratch_database

TOPIC = "posts.indexed.v1"
IDLE_PARTITION_S = 5.0
"""Shorter than the default 15 s: the final wait for the last partitions to go quiet is part
of the measured drain, not of the processing."""


async def publish_replay(
    bootstrap: str, prefix: str, events: Sequence[PostIndexed], tenant: str
) -> None:
    """Publish ``events`` as the retrieval service would: one envelope each, keyed
    ``tenant:channel``, on ``<prefix>posts.indexed.v1`` (created as the registry says)."""
    await ensure_topics(bootstrap, [REGISTRY[TOPIC]], prefix=prefix)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, acks="all", max_request_size=4 * 1024 * 1024
    )
    await producer.start()
    try:
        pending = []
        for event in events:
            env = make_envelope(
                event,
                event_type="posts.indexed",
                schema_version=1,
                producer="retrieval@0.1.0",
                tenant_id=tenant,
                occurred_at=event.date,
                idempotency_key=event.post_id,
            )
            pending.append(
                await producer.send(
                    prefix + TOPIC,
                    env.model_dump_json().encode(),
                    key=f"{tenant}:{event.channel_id}".encode(),
                    headers=[(k, v.encode()) for k, v in H.envelope_headers(env).items()],
                )
            )
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def _service(dsn: str, bootstrap: str, events: Sequence[PostIndexed]) -> dict[str, Any]:
    async with scratch_database(dsn, "bench_trend") as bench_dsn:
        prefix = f"benchtrend{uuid.uuid4().hex[:8]}."
        tenant = "bench"
        await publish_replay(bootstrap, prefix, events, tenant)
        settings = load_settings(
            TrendSettings,
            kafka_bootstrap=bootstrap,
            topic_prefix=prefix,
            postgres_dsn=bench_dsn,
            log_level="WARNING",
            idle_partition_s=IDLE_PARTITION_S,
        )
        app = build_app(settings)
        started = time.perf_counter()
        await app.kit.start()
        ready = time.perf_counter()
        try:
            conn = await asyncpg.connect(bench_dsn)
            try:
                while True:
                    done = await conn.fetchval("SELECT count(*) FROM trend.story_posts")
                    if done >= len(events):
                        break
                    if time.perf_counter() - ready > 600:
                        raise TimeoutError(f"only {done} of {len(events)} posts processed")
                    await asyncio.sleep(0.2)
                finished = time.perf_counter()
                detections = await conn.fetchval("SELECT count(*) FROM trend.detections")
            finally:
                await conn.close()
        finally:
            await app.kit.stop()
    return {
        "posts": len(events),
        "posts_per_s": round(len(events) / (finished - ready), 1),
        "drain_s": round(finished - ready, 2),
        "end_to_end_s": round(finished - started, 2),
        "detections": detections,
        "idle_partition_s": settings.idle_partition_s,
    }


async def run(dsn: str, bootstrap: str, *, cache: Path | None = None) -> dict[str, Any]:
    """Both measurements on the replay; the figures as a dict."""
    events = build_replay("bench", cache)
    engine = await replay(events, "bench")
    return {
        "engine": {
            "posts": engine.posts,
            "posts_per_s": round(engine.posts / engine.seconds, 1),
            "seconds": round(engine.seconds, 2),
            "detections": len(engine.detections),
        },
        "service": await _service(dsn, bootstrap, events),
    }


def print_figures(figures: dict[str, Any]) -> None:
    """The two throughputs as a small table."""
    print("\nTrend service on the replay of 2024-11-26..12-04")
    print(f"  {'measure':<40}{'posts':>8}{'posts/s':>10}{'detections':>12}")
    for name in ("engine", "service"):
        row = figures[name]
        print(
            f"  {name:<40}{row.get('posts', ''):>8}{row.get('posts_per_s', ''):>10}"
            f"{row.get('detections', ''):>12}"
        )


def main(argv: list[str] | None = None) -> None:
    """CLI entry point; the servers' addresses come from ``deploy/local/infra.sh env``."""
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=os.environ.get("TGI_POSTGRES_DSN"))
    parser.add_argument("--bootstrap", default=os.environ.get("TGI_KAFKA_BOOTSTRAP"))
    parser.add_argument("--cache", type=Path, default=None, help="JSON file for the replay")
    args = parser.parse_args(argv)
    if not args.dsn or not args.bootstrap:
        parser.error("set TGI_POSTGRES_DSN and TGI_KAFKA_BOOTSTRAP (or --dsn, --bootstrap)")
    figures = asyncio.run(run(args.dsn, args.bootstrap, cache=args.cache))
    print_figures(figures)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
