"""The runtime's own metrics: a closed set, low-cardinality labels, one registry per app.

Services add their own collectors to the same registry in their ``metrics.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class KitMetrics:
    """Collectors the runtime records for every service."""

    registry: CollectorRegistry
    consumed: Counter
    handler_seconds: Histogram
    dead_letters: Counter
    retries: Counter
    lifecycle: Counter
    lifecycle_suppressed: Counter
    published: Counter
    rpc_seconds: Histogram
    rpc_timeouts: Counter
    consumer_paused: Gauge
    ready: Gauge
    consumer_lag: Gauge


def build_kit_metrics(registry: CollectorRegistry | None = None) -> KitMetrics:
    """Create the runtime collectors on ``registry`` (a fresh one by default)."""
    reg = registry or CollectorRegistry()
    return KitMetrics(
        registry=reg,
        consumed=Counter(
            "tgi_messages_consumed_total",
            "Messages taken from Kafka, by topic and outcome "
            "(processed, dead_lettered, skipped_other_group, redelivery)",
            ["topic", "outcome"],
            registry=reg,
        ),
        handler_seconds=Histogram(
            "tgi_handler_duration_seconds",
            "Time spent in a topic handler, including in-process retries",
            ["topic"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        ),
        dead_letters=Counter(
            "tgi_dead_letters_total",
            "Messages sent to deadletter.v1, by original topic and error category",
            ["topic", "category"],
            registry=reg,
        ),
        retries=Counter(
            "tgi_handler_retries_total",
            "In-process handler retries after a retryable error",
            ["topic"],
            registry=reg,
        ),
        lifecycle=Counter(
            "tgi_lifecycle_events_total",
            "Lifecycle events published, by kind",
            ["kind"],
            registry=reg,
        ),
        lifecycle_suppressed=Counter(
            "tgi_lifecycle_suppressed_total",
            "retry/error lifecycle events not emitted by a lifecycle.v1 consumer (no echo loop)",
            ["kind"],
            registry=reg,
        ),
        published=Counter(
            "tgi_events_published_total",
            "Envelopes published, by topic",
            ["topic"],
            registry=reg,
        ),
        rpc_seconds=Histogram(
            "tgi_rpc_duration_seconds",
            "Request/reply round trip over Kafka, by request topic",
            ["topic"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        ),
        rpc_timeouts=Counter(
            "tgi_rpc_timeouts_total",
            "Requests over Kafka that got no reply before their deadline",
            ["topic"],
            registry=reg,
        ),
        consumer_paused=Gauge(
            "tgi_consumer_paused",
            "1 while a consumer is paused by the dead-letter limit",
            ["topic"],
            registry=reg,
        ),
        ready=Gauge("tgi_ready", "1 when the service is ready to serve", registry=reg),
        consumer_lag=Gauge(
            "tgi_consumer_lag_messages",
            "Messages of the topic's partitions assigned to this instance that its consumer "
            "group has not committed yet (end offset - committed offset), sampled periodically",
            ["topic"],
            registry=reg,
        ),
    )
