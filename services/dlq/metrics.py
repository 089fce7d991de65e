"""The dlq service's collectors: a closed set with low-cardinality labels.

``topic`` labels are registered topic names without the deployment prefix (``other`` for
anything else). The entry gauges are refreshed from the table by every replica's scheduler,
so each replica reports the same table-wide values: aggregate them with ``max``, not ``sum``.
The counters count what *this* replica did: aggregate those with ``sum``.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from servicekit.metrics import LATENCY_BUCKETS


@dataclass(frozen=True)
class DlqMetrics:
    """Collectors of the dlq service."""

    entries: Gauge
    oldest_open_age: Gauge
    intake: Counter
    retries_published: Counter
    publish_failures: Counter
    permanent_failures: Counter
    parked: Counter
    resolved: Counter
    lease_conflicts: Counter
    lifecycle_seen: Counter
    operator_actions: Counter
    scheduler_batch_seconds: Histogram


def build_dlq_metrics(registry: CollectorRegistry) -> DlqMetrics:
    """Create the dlq collectors on ``registry`` (the service kit's)."""
    return DlqMetrics(
        entries=Gauge(
            "tgi_dlq_entries",
            "Entries in dlq_events by original topic and status (refreshed every "
            "stats_interval_s from the table)",
            ["topic", "status"],
            registry=registry,
        ),
        oldest_open_age=Gauge(
            "tgi_dlq_oldest_pending_age_seconds",
            "Seconds since the first failure of the oldest entry still pending or retrying "
            "(0 when there is none)",
            registry=registry,
        ),
        intake=Counter(
            "tgi_dlq_intake_total",
            "Dead letters taken in, by original topic and outcome (pending, parked, "
            "failed_permanently, duplicate, repeat_failure, stale)",
            ["topic", "outcome"],
            registry=registry,
        ),
        retries_published=Counter(
            "tgi_dlq_retries_published_total",
            "Retries re-published to their original topic and acknowledged by the broker",
            ["topic"],
            registry=registry,
        ),
        publish_failures=Counter(
            "tgi_dlq_publish_failures_total",
            "Retries whose publication failed or timed out (rescheduled, no attempt counted)",
            ["topic"],
            registry=registry,
        ),
        permanent_failures=Counter(
            "tgi_dlq_permanent_failures_total",
            "Entries that used up their attempts (failed_permanently)",
            ["topic"],
            registry=registry,
        ),
        parked=Counter(
            "tgi_dlq_parked_total",
            "Entries parked, by topic and reason (poison, unroutable, operator)",
            ["topic", "reason"],
            registry=registry,
        ),
        resolved=Counter(
            "tgi_dlq_resolved_total",
            "Entries resolved: a retry was processed by the consumer group that failed",
            ["topic"],
            registry=registry,
        ),
        lease_conflicts=Counter(
            "tgi_dlq_lease_conflicts_total",
            "Leases found in another's hands: expired_takeover (an owner died or hung and "
            "this replica took its expired lease), lost_before_confirm (this replica's lease "
            "was taken over before it confirmed its publish)",
            ["kind"],
            registry=registry,
        ),
        lifecycle_seen=Counter(
            "tgi_dlq_lifecycle_events_total",
            "lifecycle.v1 records read for resolutions: resolution (names an entry) or ignored",
            ["outcome"],
            registry=registry,
        ),
        operator_actions=Counter(
            "tgi_dlq_operator_actions_total",
            "Entries changed by operator actions, by action",
            ["action"],
            registry=registry,
        ),
        scheduler_batch_seconds=Histogram(
            "tgi_dlq_scheduler_batch_seconds",
            "One scheduler batch: lease, publish, confirm",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
    )
