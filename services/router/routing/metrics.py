"""The context router's collectors: a closed set with low-cardinality labels.

``stage`` is one of five stage names, ``route`` one of six routes, ``outcome`` one of six
LLM outcomes; no query text, user or tenant ever becomes a label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.router.routing.model import RouteName, Stage

LlmOutcome = Literal["ok", "timeout", "error", "bad_output", "budget", "no_llm"]

ROUTING_BUCKETS: Final = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1.0,
)  # fmt: skip
"""Sub-millisecond buckets for stages 1–2, up to the 800 ms LLM deadline and a bit past it."""


@dataclass(frozen=True)
class RoutingMetrics:
    """Requests per stage and route, latency per stage, the cache, and LLM escalations."""

    requests: Counter
    latency: Histogram
    cache_hits: Counter
    cache_misses: Counter
    cache_size: Gauge
    escalations: Counter

    def decided(self, stage: Stage, route: RouteName, seconds: float) -> None:
        """Count one decision and observe how long it took."""
        self.requests.labels(stage=stage, route=route).inc()
        self.latency.labels(stage=stage).observe(seconds)

    def escalated(self, outcome: LlmOutcome) -> None:
        """Count one query that reached the LLM stage, by what came of it."""
        self.escalations.labels(outcome=outcome).inc()


def build_metrics(registry: CollectorRegistry) -> RoutingMetrics:
    """Register the router's collectors on ``registry``."""
    return RoutingMetrics(
        requests=Counter(
            "context_router_requests_total",
            "Routing decisions, by the stage that decided and the route",
            ["stage", "route"],
            registry=registry,
        ),
        latency=Histogram(
            "context_router_latency_seconds",
            "Time to route one query, by the stage that decided",
            ["stage"],
            buckets=ROUTING_BUCKETS,
            registry=registry,
        ),
        cache_hits=Counter(
            "context_router_cache_hits_total",
            "Queries answered from the decision cache",
            registry=registry,
        ),
        cache_misses=Counter(
            "context_router_cache_misses_total",
            "Queries not in the decision cache (or expired there)",
            registry=registry,
        ),
        cache_size=Gauge(
            "context_router_cache_size",
            "Decisions held in the cache",
            registry=registry,
        ),
        escalations=Counter(
            "context_router_llm_escalations_total",
            "Queries stages 1-2 could not place, by the outcome of the LLM stage "
            "(no_llm: the offline provider, straight to the fallback route)",
            ["outcome"],
            registry=registry,
        ),
    )
