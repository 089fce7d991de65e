"""Composition root of the trend service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from contracts.registry import REGISTRY
from servicekit.app import ServiceApp, ServiceKit
from servicekit.clock import Clock
from servicekit.postgres import PostgresResource
from services.trend.adapters.kafka import KafkaDetectionSink
from services.trend.adapters.postgres import PostgresTrendStore
from services.trend.engine import TrendEngine
from services.trend.handlers import posts_indexed, trend_requested
from services.trend.metrics import TrendMetrics, build_trend_metrics
from services.trend.ports import TrendStore
from services.trend.settings import TrendSettings

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class TrendDeps:
    """The adapters the service runs on; tests pass fakes, ``None`` means Postgres."""

    store: TrendStore


@dataclass(frozen=True)
class TrendHandles:
    """What ``ServiceApp.deps`` holds for tests and tools."""

    engine: TrendEngine
    store: TrendStore
    metrics: TrendMetrics


def build_app(
    settings: TrendSettings, deps: TrendDeps | None = None, *, clock: Clock | None = None
) -> ServiceApp:
    """Wire the trend service: Postgres (migrations) and recovery of held posts and unpublished
    detections at start-up, then the two consumers and the watermark tick. ``clock`` only
    times things (monotonic); every decision runs on event time."""
    kit = ServiceKit(settings, clock=clock)
    metrics = build_trend_metrics(kit.metrics.registry)
    if deps is None:
        db = PostgresResource(
            str(settings.postgres_dsn),
            schema="trend",
            migrations=MIGRATIONS,
            max_size=settings.postgres_pool_size,
        )
        kit.on_startup("postgres", db.start)
        kit.on_shutdown(db.close)
        kit.add_readiness_check("postgres", db.check)
        deps = TrendDeps(store=PostgresTrendStore(db))
    engine = TrendEngine(
        deps.store,
        KafkaDetectionSink(kit.publisher),
        metrics,
        stories=settings.story_params(),
        burst=settings.burst_params(),
        monotonic=kit.clock.monotonic,
        idle_partition_s=settings.idle_partition_s,
    )
    partitions = REGISTRY["posts.indexed.v1"].partitions

    async def recover() -> None:
        await engine.recover(partitions)

    kit.on_startup("recover", recover)

    async def tick() -> None:
        while True:
            await asyncio.sleep(settings.tick_s)
            await engine.drain()
            await engine.flush()

    kit.run_in_background("watermark", tick)
    kit.consume_batch(
        "posts.indexed.v1",
        posts_indexed.make_handler(engine, kit.lifecycle),
        max_records=settings.batch_max_records,
        timeout_ms=settings.batch_timeout_ms,
    )
    kit.consume(
        "trend.requested.v1",
        trend_requested.make_handler(engine, kit.publisher, kit.lifecycle, metrics),
    )
    return kit.build(deps=TrendHandles(engine=engine, store=deps.store, metrics=metrics))
