"""PerformanceMetrics: the seed's names and buckets, real per-request values, no tenant."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from servicekit.llm import Budget, BudgetExceeded, Completion, PerformanceMetrics

pytestmark = pytest.mark.unit


def _metrics() -> PerformanceMetrics:
    return PerformanceMetrics(CollectorRegistry())


def _buckets(metrics: PerformanceMetrics, name: str) -> list[str]:
    return sorted(
        {
            sample.labels["le"]
            for family in metrics.registry.collect()
            for sample in family.samples
            if sample.name == f"{name}_bucket"
        },
        key=float,
    )


def test_histograms_keep_the_seeds_buckets() -> None:
    metrics = _metrics()
    metrics.observe_request(
        path_type="fast_path",
        endpoint="/v1/rag/query",
        latency_s=0.2,
        budget=Budget(),
        qos_level="fast",
    )
    metrics.observe_request(
        path_type="smart_path",
        endpoint="digest",
        latency_s=3.0,
        budget=Budget(path_type="smart_path"),
        qos_level="smart",
    )
    # the seed's boundaries, plus 0.05/0.2/0.3 so the 300 ms p95 target can be read off
    assert _buckets(metrics, "fast_path_latency_seconds") == [
        "0.05", "0.1", "0.2", "0.3", "0.5", "1.0", "2.0", "3.0", "5.0", "7.0", "10.0", "15.0",
        "30.0", "+Inf",
    ]  # fmt: skip
    assert _buckets(metrics, "smart_path_latency_seconds") == [
        "1.0", "5.0", "10.0", "30.0", "60.0", "120.0", "300.0", "600.0", "+Inf"
    ]  # fmt: skip
    counts = ["0.0", "1.0", "2.0", "3.0", "4.0", "5.0", "6.0", "7.0", "8.0", "10.0", "15.0", "20.0"]
    assert _buckets(metrics, "llm_calls_per_request") == [*counts, "+Inf"]
    assert _buckets(metrics, "agent_steps_per_request") == [*counts, "+Inf"]
    assert _buckets(metrics, "tokens_per_request") == [
        "100.0", "500.0", "1000.0", "2000.0", "4000.0", "8000.0",
        "12000.0", "16000.0", "20000.0", "32000.0", "+Inf",
    ]  # fmt: skip
    assert b"tenant" not in generate_latest(metrics.registry)


def test_a_request_records_its_real_budget_use() -> None:
    metrics = _metrics()
    budget = Budget()
    budget.step()
    budget.charge(Completion("a", 1200, 300, "openai", "m", estimated=False))
    budget.charge_failure()
    metrics.observe_request(
        path_type="fast_path",
        endpoint="/v1/rag/query",
        latency_s=0.25,
        budget=budget,
        qos_level="auto",
    )
    value = metrics.registry.get_sample_value
    labels = {"path_type": "fast_path", "endpoint": "/v1/rag/query"}
    assert value("llm_calls_per_request_sum", labels) == 2
    assert value("tokens_per_request_sum", labels) == 1500
    assert value("agent_steps_per_request_sum", labels) == 1
    assert value("fast_path_latency_seconds_sum", {"endpoint": "/v1/rag/query"}) == 0.25
    assert value("qos_level_requests_total", {"qos_level": "auto", **labels}) == 1
    assert value("smart_path_latency_seconds_count", {"task_type": "/v1/rag/query"}) is None


def test_budget_refusals_are_counted_per_kind() -> None:
    metrics = _metrics()
    budget = Budget(max_llm_calls=0, max_agent_steps=0, path_type="smart_path")
    for action in (budget.check_call, budget.step):
        with pytest.raises(BudgetExceeded):
            action()
    metrics.budget_exceeded_for(budget, endpoint="digest")
    metrics.budget_exceeded(kind="tokens", path_type="fast_path", endpoint="/v1/rag/query")
    value = metrics.registry.get_sample_value
    for kind, path_type, endpoint in [
        ("llm_calls", "smart_path", "digest"),
        ("agent_steps", "smart_path", "digest"),
        ("tokens", "fast_path", "/v1/rag/query"),
    ]:
        labels = {"budget_type": kind, "path_type": path_type, "endpoint": endpoint}
        assert value("request_budget_exceeded_total", labels) == 1


def test_declared_endpoints_read_zero_before_any_event() -> None:
    metrics = _metrics()
    metrics.declare(path_type="fast_path", endpoint="/v1/rag/query")
    labels = {"budget_type": "tokens", "path_type": "fast_path", "endpoint": "/v1/rag/query"}
    assert metrics.registry.get_sample_value("request_budget_exceeded_total", labels) == 0


def test_llm_calls_and_cache_lookups() -> None:
    metrics = _metrics()
    metrics.llm_call(provider="gigachat", outcome="ok", seconds=0.4, tokens_in=50, tokens_out=9)
    metrics.llm_call(provider="gigachat", outcome="timeout", seconds=0.8, tokens_in=0, tokens_out=0)
    metrics.cache_lookup(cache_type="router_decision", path_type="fast_path", hit=True)
    metrics.cache_lookup(cache_type="router_decision", path_type="fast_path", hit=False)
    value = metrics.registry.get_sample_value
    assert value("llm_requests_total", {"provider": "gigachat", "outcome": "timeout"}) == 1
    assert value("llm_tokens_total", {"provider": "gigachat", "direction": "in"}) == 50
    assert value("llm_tokens_total", {"provider": "gigachat", "direction": "out"}) == 9
    cache = {"cache_type": "router_decision", "path_type": "fast_path"}
    assert value("performance_cache_hits_total", cache) == 1
    assert value("performance_cache_misses_total", cache) == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.observe_request(
            path_type="slow", endpoint="e", latency_s=1, budget=Budget(), qos_level="fast"
        ),
        lambda m: m.observe_request(
            path_type="fast_path", endpoint="e", latency_s=1, budget=Budget(), qos_level="turbo"
        ),
        lambda m: m.budget_exceeded(kind="money", path_type="fast_path", endpoint="e"),
        lambda m: m.llm_call(provider="p", outcome="meh", seconds=0, tokens_in=0, tokens_out=0),
    ],
)
def test_label_values_outside_the_closed_sets_are_refused(call: object) -> None:
    with pytest.raises(ValueError, match="unknown"):
        call(_metrics())  # type: ignore[operator]
