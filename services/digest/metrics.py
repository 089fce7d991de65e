"""Metrics of the digest service (beside the kit's and the LLM layer's)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from servicekit.llm import PerformanceMetrics


@dataclass(frozen=True)
class DigestMetrics:
    """``digest_runs_total{kind,status}``, ``digest_quality_score``,
    ``digest_manifest_bytes``, ``digest_steps_total{step,status}``, plus the shared
    performance metrics (``smart_path_latency_seconds``, budget series)."""

    runs: Counter
    quality: Histogram
    manifest_bytes: Histogram
    steps: Counter
    perf: PerformanceMetrics


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
    )
