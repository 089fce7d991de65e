"""The retention job over fakes, with a manual clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from servicekit.clock import ManualClock
from services.memory.domain.partitions import Month
from services.memory.metrics import MemoryMetrics
from services.memory.retention import RetentionJob
from tests.unit.memory.factories import episode
from tests.unit.memory.fakes import FakeEpisodes, FakePartitions

pytestmark = pytest.mark.unit
NOW = datetime(2025, 6, 15, 10, 0, tzinfo=UTC)


def _job(
    partitions: FakePartitions, clock: ManualClock, metrics: MemoryMetrics, **kw: float
) -> RetentionJob:
    opts: dict[str, float] = {"retention_days": 90, "interval_s": 3600, "ahead": 2}
    opts.update(kw)
    return RetentionJob(
        partitions,
        clock,
        metrics,
        retention_days=int(opts["retention_days"]),
        interval_s=opts["interval_s"],
        ahead=int(opts["ahead"]),
        delete_batch=2,
    )


async def test_run_removes_exactly_what_is_older_than_the_window(
    metrics: MemoryMetrics, registry: CollectorRegistry
) -> None:
    store = FakeEpisodes()
    parts = FakePartitions(store, [Month(2025, m) for m in range(1, 7)])
    cutoff = NOW - timedelta(days=90)
    times = [
        datetime(2025, 1, 5, tzinfo=UTC),  # dropped with January
        datetime(2025, 2, 27, tzinfo=UTC),  # dropped with February
        cutoff - timedelta(seconds=1),  # boundary partition, before the cut-off: deleted
        cutoff,  # exactly at the cut-off: kept
        cutoff + timedelta(days=1),
        NOW,
        datetime(2024, 1, 1, tzinfo=UTC),  # an old outlier in the default partition: deleted
        datetime(2031, 1, 1, tzinfo=UTC),  # a far-future outlier: kept in the default
    ]
    rows = [episode(at=t) for t in times]
    await store.add(rows)
    report = await _job(parts, ManualClock(NOW), metrics).run_once()
    assert report.cutoff == cutoff
    assert report.dropped == [Month(2025, 1), Month(2025, 2)]
    assert report.deleted_rows == 2
    assert report.created == [Month(2025, 7), Month(2025, 8)]
    assert sorted(e.occurred_at for e in store.rows.values()) == [*times[3:6], times[7]]
    assert sorted(parts.have) == [Month(2025, m) for m in range(3, 9)]
    assert registry.get_sample_value("memory_retention_removed_total", {"unit": "rows"}) == 2
    assert registry.get_sample_value("memory_retention_removed_total", {"unit": "partitions"}) == 2
    assert registry.get_sample_value("memory_retention_last_run_timestamp_seconds") == (
        NOW.timestamp()
    )
    # A second run at the same time finds nothing more to do.
    again = await _job(parts, ManualClock(NOW), metrics).run_once()
    assert (again.dropped, again.deleted_rows, again.created) == ([], 0, [])


async def test_moving_the_clock_moves_the_window(metrics: MemoryMetrics) -> None:
    store = FakeEpisodes()
    parts = FakePartitions(store)
    clock = ManualClock(NOW)
    job = _job(parts, clock, metrics, retention_days=30)
    await job.prepare()
    assert min(parts.have) == Month(2025, 5)
    rows = [episode(at=NOW - timedelta(days=d)) for d in (1, 10, 20, 29)]
    await store.add(rows)
    clock.advance(timedelta(days=15).total_seconds())
    report = await job.run_once()
    # 15 days later the window starts 15 days before the original now: 20 and 29 go.
    assert report.deleted_rows == 2
    assert sorted(e.occurred_at for e in store.rows.values()) == [
        NOW - timedelta(days=10),
        NOW - timedelta(days=1),
    ]
    clock.advance(timedelta(days=60).total_seconds())
    report = await job.run_once()
    assert Month(2025, 5) in report.dropped
    assert Month(2025, 6) in report.dropped
    assert store.rows == {}


async def test_loop_keeps_running_after_a_failed_run(
    metrics: MemoryMetrics, registry: CollectorRegistry
) -> None:
    store = FakeEpisodes()
    parts = FakePartitions(store)
    calls = 0
    real_months = parts.months

    async def flaky() -> list[Month]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("postgres restarting")
        return await real_months()

    parts.months = flaky  # type: ignore[method-assign]
    job = _job(parts, ManualClock(NOW), metrics, interval_s=0.01)
    task = asyncio.create_task(job.loop())
    try:
        for _ in range(200):
            if registry.get_sample_value("memory_retention_last_run_timestamp_seconds"):
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert registry.get_sample_value("memory_retention_failures_total") == 1
    assert registry.get_sample_value("memory_retention_last_run_timestamp_seconds") == (
        NOW.timestamp()
    )
