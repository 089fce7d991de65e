"""The retrieval service's collectors (names from the seed where it had them)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from servicekit.metrics import LATENCY_BUCKETS


@dataclass(frozen=True)
class RetrievalMetrics:
    """Indexing, search legs and the shared retrieval cache."""

    cache_hits: Counter
    cache_misses: Counter
    leg_seconds: Histogram
    leg_failures: Counter
    indexed: Counter
    index_batch_seconds: Histogram
    index_stage_seconds: Counter
    deleted: Counter
    unoptimized_points: Gauge
    optimize_seconds: Histogram

    def cache(self, hit: bool) -> None:
        (self.cache_hits if hit else self.cache_misses).labels(
            cache_type="retrieval", path_type="shared"
        ).inc()

    def leg(self, leg: str, outcome: str, seconds: float) -> None:
        if outcome == "ok":
            self.leg_seconds.labels(leg=leg).observe(seconds)
        else:
            self.leg_failures.labels(leg=leg).inc()


def build_metrics(registry: CollectorRegistry) -> RetrievalMetrics:
    """Register the retrieval collectors on ``registry``."""
    return RetrievalMetrics(
        cache_hits=Counter(
            "performance_cache_hits_total",
            "Retrieval cache hits",
            ["cache_type", "path_type"],
            registry=registry,
        ),
        cache_misses=Counter(
            "performance_cache_misses_total",
            "Retrieval cache misses",
            ["cache_type", "path_type"],
            registry=registry,
        ),
        leg_seconds=Histogram(
            "retrieval_leg_duration_seconds",
            "Time of one retrieval leg (dense, sparse, graph) that answered",
            ["leg"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        leg_failures=Counter(
            "retrieval_leg_failures_total",
            "Retrieval legs that failed or timed out (the answer was degraded)",
            ["leg"],
            registry=registry,
        ),
        indexed=Counter(
            "retrieval_posts_indexed_total",
            "Posts by indexing outcome (written, unchanged, duplicate)",
            ["outcome"],
            registry=registry,
        ),
        index_batch_seconds=Histogram(
            "retrieval_index_batch_duration_seconds",
            "Time to index one batch of posts into the three stores",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=registry,
        ),
        index_stage_seconds=Counter(
            "retrieval_index_stage_seconds_total",
            "Seconds spent per indexing stage (analyze, dedupe, postgres, embed, stores, mark)",
            ["stage"],
            registry=registry,
        ),
        deleted=Counter(
            "retrieval_posts_deleted_total", "Posts removed from every store", registry=registry
        ),
        unoptimized_points=Gauge(
            "retrieval_edge_unoptimized_points",
            "Points written to the embedded Qdrant shard since it was last optimised",
            registry=registry,
        ),
        optimize_seconds=Histogram(
            "retrieval_edge_optimize_duration_seconds",
            "Optimisations of the embedded Qdrant shard (the service is held meanwhile)",
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120),
            registry=registry,
        ),
    )
