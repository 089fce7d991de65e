"""Composition root of the memory service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import Depends, FastAPI

from servicekit.app import ServiceApp, ServiceKit
from servicekit.clock import Clock
from servicekit.postgres import PostgresResource
from services.memory import api
from services.memory.adapters.episodes import PostgresEpisodes
from services.memory.adapters.partitions import PostgresPartitions
from services.memory.handlers import lifecycle
from services.memory.metrics import MemoryMetrics, build_memory_metrics
from services.memory.ports import EpisodeStore, PartitionStore
from services.memory.retention import RetentionJob
from services.memory.settings import MemorySettings

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class MemoryDeps:
    """The adapters the service runs on; tests pass fakes, ``None`` means Postgres."""

    episodes: EpisodeStore
    partitions: PartitionStore


@dataclass(frozen=True)
class MemoryHandles:
    """What ``ServiceApp.deps`` holds for tests and tools: adapters, job, metrics."""

    episodes: EpisodeStore
    partitions: PartitionStore
    retention: RetentionJob
    metrics: MemoryMetrics


def build_app(
    settings: MemorySettings, deps: MemoryDeps | None = None, *, clock: Clock | None = None
) -> ServiceApp:
    """Wire the memory service: lifecycle consumer, retention job, read API; connects on
    start (Postgres, migrations, partitions ahead, then Kafka consumers)."""
    kit = ServiceKit(settings, clock=clock)
    metrics = build_memory_metrics(kit.metrics.registry)
    if deps is None:
        db = PostgresResource(
            str(settings.postgres_dsn),
            schema="memory",
            migrations=MIGRATIONS,
            max_size=settings.postgres_pool_size,
        )
        kit.on_startup("postgres", db.start)
        kit.on_shutdown(db.close)
        kit.add_readiness_check("postgres", db.check)
        deps = MemoryDeps(
            episodes=PostgresEpisodes(db, read_timeout_s=settings.read_timeout_s),
            partitions=PostgresPartitions(db),
        )
    retention = RetentionJob(
        deps.partitions,
        kit.clock,
        metrics,
        retention_days=settings.retention_days,
        interval_s=settings.retention_interval_s,
        ahead=settings.partitions_ahead,
        delete_batch=settings.retention_delete_batch,
    )
    # Before consuming, so the first events land in their monthly partitions.
    kit.on_startup("partitions", retention.prepare)
    kit.run_in_background("retention", retention.loop)
    kit.consume_batch(
        "lifecycle.v1",
        lifecycle.make_handler(
            deps.episodes, metrics, kit.clock, retention_days=settings.retention_days
        ),
        max_records=settings.batch_max_records,
        timeout_ms=settings.batch_timeout_ms,
        linger_ms=settings.batch_linger_ms,
    )
    http = FastAPI(
        title="tgint memory",
        version=settings.version,
        description="Episodic memory: what happened in every pipeline run, per tenant.",
    )
    http.include_router(
        api.build_router(deps.episodes, metrics), dependencies=[Depends(kit.api_guard)]
    )
    handles = MemoryHandles(
        episodes=deps.episodes, partitions=deps.partitions, retention=retention, metrics=metrics
    )
    return kit.build(http=http, deps=handles)
