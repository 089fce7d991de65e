"""The memory service's collectors: a closed set, registered on the kit's registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from servicekit.metrics import LATENCY_BUCKETS

BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


@dataclass(frozen=True)
class MemoryMetrics:
    """What the memory service measures besides the runtime's own metrics."""

    stored: Counter
    ignored: Counter
    batch_size: Histogram
    read_seconds: Histogram
    retention_removed: Counter
    retention_last_run: Gauge
    retention_failures: Counter
    partitions_created: Counter


def build_memory_metrics(registry: CollectorRegistry) -> MemoryMetrics:
    """Create the memory collectors on ``registry`` (the kit's, so ``/metrics`` shows them)."""
    return MemoryMetrics(
        stored=Counter(
            "memory_episodes_stored_total",
            "Episodes newly stored, by kind",
            ["kind"],
            registry=registry,
        ),
        ignored=Counter(
            "memory_episodes_ignored_total",
            "Lifecycle events not stored: duplicate (already stored, or repeated in a batch) "
            "or expired (older than the retention window on arrival)",
            ["reason"],
            registry=registry,
        ),
        batch_size=Histogram(
            "memory_ingest_batch_size",
            "Lifecycle events per stored batch (one INSERT each)",
            buckets=BATCH_BUCKETS,
            registry=registry,
        ),
        read_seconds=Histogram(
            "memory_read_duration_seconds",
            "Time to read one page from the store for a read API request, by endpoint",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        retention_removed=Counter(
            "memory_retention_removed_total",
            "What retention removed: unit=partitions (dropped whole) or unit=rows (deleted "
            "from the partition straddling the cut-off and from the default partition)",
            ["unit"],
            registry=registry,
        ),
        retention_last_run=Gauge(
            "memory_retention_last_run_timestamp_seconds",
            "Unix time (service clock) of the last retention run that completed",
            registry=registry,
        ),
        retention_failures=Counter(
            "memory_retention_failures_total",
            "Retention runs that failed (retried at the next interval)",
            registry=registry,
        ),
        partitions_created=Counter(
            "memory_partitions_created_total",
            "Monthly partitions created ahead of time (or when late data needed them)",
            registry=registry,
        ),
    )
