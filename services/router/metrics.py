"""The router's collectors: a closed set on the kit's registry, plus the seed's performance
metrics (``servicekit.llm.PerformanceMetrics``), shared with the LLM client and the context
router so each series exists once."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from servicekit.llm import PerformanceMetrics
from servicekit.metrics import LATENCY_BUCKETS


@dataclass(frozen=True)
class RouterMetrics:
    """What the gateway and the fast path measure."""

    perf: PerformanceMetrics
    hop_seconds: Histogram
    answers: Counter
    auth_failures: Counter
    rate_limited: Counter
    runs_finished: Counter
    dependency_failures: Counter


def build_router_metrics(
    registry: CollectorRegistry, perf: PerformanceMetrics | None = None
) -> RouterMetrics:
    """Create the router's collectors on ``registry`` (the kit's); ``perf`` when the caller
    already made the performance metrics of that registry."""
    return RouterMetrics(
        perf=perf or PerformanceMetrics(registry),
        hop_seconds=Histogram(
            "router_hop_duration_seconds",
            "Time per hop of a query (auth, history, route, retrieval, answer, record)",
            ["hop"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        answers=Counter(
            "router_answers_total",
            "Queries answered, by route, status and how the answer was written "
            "(llm, extractive, fixed text, none)",
            ["route", "status", "mode"],
            registry=registry,
        ),
        auth_failures=Counter(
            "router_auth_failures_total",
            "Refused credentials by reason (missing, invalid, unknown_key, expired, "
            "bad_signature, jwt_disabled, revoked)",
            ["reason"],
            registry=registry,
        ),
        rate_limited=Counter(
            "router_rate_limited_total",
            "Requests refused with 429 by the per-credential rate limit",
            registry=registry,
        ),
        runs_finished=Counter(
            "router_runs_finished_total",
            "Smart-path runs finished by a completion event, by kind and status",
            ["kind", "status"],
            registry=registry,
        ),
        dependency_failures=Counter(
            "router_dependency_failures_total",
            "Calls to another service or store that failed or timed out, by dependency",
            ["dependency"],
            registry=registry,
        ),
    )
