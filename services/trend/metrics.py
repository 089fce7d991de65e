"""The trend service's collectors: a closed set, registered on the kit's registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from servicekit.metrics import LATENCY_BUCKETS

# Event-time delay from a story's first post to its detection: minutes to a day.
DELAY_BUCKETS = (60, 300, 600, 1200, 1800, 3600, 7200, 14_400, 28_800, 86_400)


@dataclass(frozen=True)
class TrendMetrics:
    """What the trend service measures besides the runtime's own metrics."""

    posts: Counter
    clusters_active: Gauge
    held: Gauge
    stories: Counter
    kept_apart: Counter
    emitted: Counter
    detection_delay: Histogram
    hold_seconds: Histogram
    step_seconds: Histogram
    requests: Counter


def build_trend_metrics(registry: CollectorRegistry) -> TrendMetrics:
    """Create the trend collectors on ``registry`` (the kit's, so ``/metrics`` shows them)."""
    return TrendMetrics(
        posts=Counter(
            "trend_posts_processed_total",
            "Indexed posts by outcome: clustered (joined or founded a story), repost (joined "
            "its original's story), ignored (no vector, no known original), duplicate "
            "(already held or processed: a redelivery or an edit)",
            ["outcome"],
            registry=registry,
        ),
        clusters_active=Gauge(
            "trend_clusters_active",
            "Active story clusters over all tenants loaded in this instance",
            registry=registry,
        ),
        held=Gauge(
            "trend_posts_held",
            "Posts received and waiting for the event-time watermark",
            registry=registry,
        ),
        stories=Counter(
            "trend_stories_total",
            "Story lifecycle changes: created, merged (absorbed by another), retired",
            ["change"],
            registry=registry,
        ),
        kept_apart=Counter(
            "trend_posts_kept_apart_total",
            "Times a post stayed out of a story it matched in words because the two name "
            "different days or different people (services/trend/domain/arguments.py)",
            ["argument"],
            registry=registry,
        ),
        emitted=Counter(
            "trend_trends_emitted_total",
            "Trends announced on trend.detected.v1 (unsolicited), by kind",
            ["kind"],
            registry=registry,
        ),
        detection_delay=Histogram(
            "trend_detection_delay_seconds",
            "Event time from a story's first post to its announcement, by kind",
            ["kind"],
            buckets=DELAY_BUCKETS,
            registry=registry,
        ),
        hold_seconds=Histogram(
            "trend_hold_duration_seconds",
            "Wall time from receiving a post to clustering it (the event-time reorder hold)",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        step_seconds=Histogram(
            "trend_step_duration_seconds",
            "Wall time of one processing step (cluster, count, test, store) for one tenant",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        requests=Counter(
            "trend_requests_total",
            "trend.requested.v1 answered, by where the answer went (reply_to or topic)",
            ["route"],
            registry=registry,
        ),
    )
