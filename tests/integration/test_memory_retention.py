"""Retention on Postgres with an injected clock: exactly what is older than the window goes,
whole partitions are dropped, the boundary partition is trimmed, and the job really runs
inside the service."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from servicekit.clock import ManualClock
from servicekit.postgres import PostgresResource
from servicekit.settings import load_settings
from services.memory.adapters.episodes import PostgresEpisodes
from services.memory.adapters.partitions import PostgresPartitions
from services.memory.app import MIGRATIONS, MemoryHandles, build_app
from services.memory.domain.partitions import Month
from services.memory.metrics import build_memory_metrics
from services.memory.retention import RetentionJob
from services.memory.settings import MemorySettings
from tests.helpers.kafka import eventually
from tests.unit.memory.factories import episode
from tools.scratch import scratch_database

pytestmark = pytest.mark.integration
NOW = datetime(2025, 6, 15, 10, 0, tzinfo=UTC)


@pytest.fixture
async def dsn(infra: dict[str, str]) -> AsyncIterator[str]:
    async with scratch_database(infra["TGI_POSTGRES_DSN"], "memret") as name:
        yield name


@pytest.fixture
async def db(dsn: str) -> AsyncIterator[PostgresResource]:
    resource = PostgresResource(dsn, schema="memory", migrations=MIGRATIONS)
    await resource.start()
    try:
        yield resource
    finally:
        await resource.close()


async def _occurred(db: PostgresResource) -> list[datetime]:
    rows = await db.pool.fetch("SELECT occurred_at FROM memory.episodes ORDER BY 1")
    return [r["occurred_at"] for r in rows]


async def test_retention_removes_only_what_is_older_than_the_window(
    db: PostgresResource,
) -> None:
    parts = PostgresPartitions(db)
    for m in range(1, 7):
        await parts.create(Month(2025, m))
    cutoff = NOW - timedelta(days=90)  # 2025-03-17 10:00
    times = [
        datetime(2025, 1, 5, tzinfo=UTC),
        datetime(2025, 2, 28, 23, 59, 59, tzinfo=UTC),
        datetime(2025, 3, 1, tzinfo=UTC),  # boundary partition, before the cut-off
        cutoff - timedelta(microseconds=1),  # boundary partition, just before
        cutoff,  # exactly at the cut-off: kept
        cutoff + timedelta(microseconds=1),
        datetime(2025, 4, 1, tzinfo=UTC),
        NOW,
        datetime(2023, 7, 1, tzinfo=UTC),  # old outlier in the default partition
        datetime(2032, 1, 1, tzinfo=UTC),  # far-future outlier in the default partition
    ]
    # Many rows in the boundary partition before the cut-off, to exercise batched deletes.
    times += [datetime(2025, 3, 2, tzinfo=UTC) + timedelta(minutes=i) for i in range(25)]
    await PostgresEpisodes(db).add([episode(at=t) for t in times])
    registry = CollectorRegistry()
    metrics = build_memory_metrics(registry)
    job = RetentionJob(
        parts,
        ManualClock(NOW),
        metrics,
        retention_days=90,
        interval_s=3600,
        ahead=2,
        delete_batch=4,
    )
    report = await job.run_once()
    kept = sorted(t for t in times if t >= cutoff)
    assert await _occurred(db) == kept
    assert report.dropped == [Month(2025, 1), Month(2025, 2)]
    assert report.deleted_rows == 2 + 25 + 1
    assert report.created == [Month(2025, 7), Month(2025, 8)]
    assert await parts.months() == [Month(2025, m) for m in range(3, 9)]
    assert registry.get_sample_value("memory_retention_removed_total", {"unit": "rows"}) == 28
    assert registry.get_sample_value("memory_retention_removed_total", {"unit": "partitions"}) == 2
    assert registry.get_sample_value("memory_retention_last_run_timestamp_seconds") == (
        NOW.timestamp()
    )
    # Idempotent: the same instant again removes nothing more.
    again = await job.run_once()
    assert (again.dropped, again.deleted_rows, again.created) == ([], 0, [])
    assert await _occurred(db) == kept


async def test_retention_runs_inside_the_service(
    dsn: str, db: PostgresResource, bootstrap: str, prefix: str
) -> None:
    clock = ManualClock(NOW)
    settings = load_settings(
        MemorySettings,
        kafka_bootstrap=bootstrap,
        topic_prefix=prefix,
        postgres_dsn=dsn,
        retention_days=30,
        retention_interval_s=0.2,
        startup_timeout_s=30,
    )
    app = build_app(settings, clock=clock)
    handles = app.deps
    assert isinstance(handles, MemoryHandles)
    registry = app.kit.metrics.registry
    await app.kit.start()
    try:
        # Start-up made the partitions from the cut-off's month to two months ahead.
        assert await handles.partitions.months() == [Month(2025, m) for m in range(5, 9)]
        tenant = f"t{uuid.uuid4().hex[:8]}"
        await handles.episodes.add(
            [episode(tenant=tenant, at=NOW - timedelta(days=d)) for d in (1, 20, 29)]
        )
        # Five days on, the window starts 25 days before NOW: the 29-day-old row expires.
        clock.advance(timedelta(days=5).total_seconds())

        async def only_two_left() -> bool:
            return len(await _occurred(db)) == 2

        await eventually(only_two_left, timeout_s=10)
        await eventually(
            lambda: (
                registry.get_sample_value("memory_retention_last_run_timestamp_seconds")
                == clock.now().timestamp()
            ),
            timeout_s=5,
        )
        assert await _occurred(db) == [NOW - timedelta(days=20), NOW - timedelta(days=1)]
        ok, report = await app.kit.readiness()
        assert ok, report
    finally:
        await app.kit.stop()
