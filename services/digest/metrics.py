"""Metrics of the digest service (beside the kit's and the LLM layer's)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from servicekit.llm import PerformanceMetrics


@dataclass(frozen=True)
class ScheduleMetrics:
    """The schedule loop's. Counters count what *this* replica did (aggregate with ``sum``);
    the lag gauge is read from the table by every replica (aggregate with ``max``)."""

    due: Counter
    fired: Counter
    publish_failures: Counter
    missed: Counter
    lag: Gauge


@dataclass(frozen=True)
class DigestMetrics:
    """``digest_runs_total{kind,status}``, ``digest_quality_score``,
    ``digest_manifest_bytes``, ``digest_steps_total{step,status}``, the schedule loop's
    ``digest_schedule*`` series, plus the shared performance metrics
    (``smart_path_latency_seconds``, budget series)."""

    runs: Counter
    quality: Histogram
    manifest_bytes: Histogram
    steps: Counter
    perf: PerformanceMetrics
    schedules: ScheduleMetrics


def build_digest_metrics(registry: CollectorRegistry) -> DigestMetrics:
    """Create the collectors on ``registry`` (once per registry)."""
    perf = PerformanceMetrics(registry)
    perf.declare(path_type="smart_path", endpoint="digest")
    return DigestMetrics(
        runs=Counter(
            "digest_runs_total", "Digest runs finished", ["kind", "status"], registry=registry
        ),
        quality=Histogram(
            "digest_quality_score",
            "Quality score of delivered digests",
            buckets=(0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
            registry=registry,
        ),
        manifest_bytes=Histogram(
            "digest_manifest_bytes",
            "Encoded size of final run manifests (cap 100 KB)",
            buckets=(1_000, 5_000, 10_000, 25_000, 50_000, 75_000, 102_400),
            registry=registry,
        ),
        steps=Counter(
            "digest_steps_total",
            "Digest run steps by outcome",
            ["step", "status"],
            registry=registry,
        ),
        perf=perf,
        schedules=_schedule_metrics(registry),
    )


def _schedule_metrics(registry: CollectorRegistry) -> ScheduleMetrics:
    return ScheduleMetrics(
        due=Counter(
            "digest_schedules_due_total",
            "Due schedules claimed by this replica's schedule loop",
            registry=registry,
        ),
        fired=Counter(
            "digest_schedules_fired_total",
            "Scheduled digest.requested.v1 published and acknowledged, by digest kind",
            ["kind"],
            registry=registry,
        ),
        publish_failures=Counter(
            "digest_schedule_publish_failures_total",
            "Scheduled requests not published (failed or timed out); the slot stays due and "
            "is retried with the same ids on the next tick",
            registry=registry,
        ),
        missed=Counter(
            "digest_schedule_slots_missed_total",
            "Slots that passed unfired (service down or behind) and were collapsed into the "
            "latest one, which alone was requested",
            registry=registry,
        ),
        lag=Gauge(
            "digest_schedule_lag_seconds",
            "Seconds since the oldest enabled schedule became due and was not yet fired "
            "(0 when none is due), read from the table after every tick",
            registry=registry,
        ),
    )
