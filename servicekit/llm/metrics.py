"""The seed's performance metrics, with real values, and the LLM client's own metrics.

Names and histogram buckets are the seed's (``performance_metrics.py`` of the original) so its
alert rules and dashboard keep working, minus the ``tenant_id`` label (unbounded cardinality).
The seed's four gauges (``fast_path_p95_latency_seconds``, ``avg_llm_calls_per_request``…)
are left out on purpose: they were never written, and a p95 or an average is computed from the
histograms (``histogram_quantile``, ``_sum / _count``), not stored.

Label values are closed sets checked here (``path_type``, ``qos_level``, budget kind, LLM
outcome); ``endpoint`` is the caller's route template or task type, never a raw URL or id.
Create one :class:`PerformanceMetrics` per registry and share it (a second one on the same
registry raises ``ValueError: Duplicated timeseries``).
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

from servicekit.llm.budget import Budget
from servicekit.llm.errors import BUDGET_KINDS

PATH_TYPES: Final = ("fast_path", "smart_path")
QOS_LEVELS: Final = ("fast", "smart", "auto")
LLM_OUTCOMES: Final = (
    "ok",
    "timeout",
    "unavailable",
    "rejected",
    "circuit_open",
    "budget_exceeded",
    "cancelled",
    "error",
)

FAST_PATH_BUCKETS: Final = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 30.0)
SMART_PATH_BUCKETS: Final = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
COUNT_BUCKETS: Final = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 15, 20)
TOKEN_BUCKETS: Final = (100, 500, 1000, 2000, 4000, 8000, 12000, 16000, 20000, 32000)
# 0.8 s is the router's LLM deadline; the tail covers slow smart-path generations.
LLM_CALL_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)

_PER_REQUEST = ["path_type", "endpoint"]


class PerformanceMetrics:
    """Per-request cost and latency, budget refusals, QoS levels, and every LLM call."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.fast_path_latency = Histogram(
            "fast_path_latency_seconds",
            "Fast path request latency (P95 target: < 5s)",
            ["endpoint"],
            buckets=FAST_PATH_BUCKETS,
            registry=registry,
        )
        self.smart_path_latency = Histogram(
            "smart_path_latency_seconds",
            "Smart path run latency (digests, trends)",
            ["task_type"],
            buckets=SMART_PATH_BUCKETS,
            registry=registry,
        )
        self.llm_calls_per_request = Histogram(
            "llm_calls_per_request",
            "LLM calls sent per request (target: < 3 for the fast path)",
            _PER_REQUEST,
            buckets=COUNT_BUCKETS,
            registry=registry,
        )
        self.tokens_per_request = Histogram(
            "tokens_per_request",
            "LLM tokens per request, from provider usage (P95 target: < 8k)",
            _PER_REQUEST,
            buckets=TOKEN_BUCKETS,
            registry=registry,
        )
        self.agent_steps_per_request = Histogram(
            "agent_steps_per_request",
            "Agent steps per request (P95 target: <= 4)",
            _PER_REQUEST,
            buckets=COUNT_BUCKETS,
            registry=registry,
        )
        self.budget_exceeded_total = Counter(
            "request_budget_exceeded_total",
            "Requests that hit a budget limit, by kind (llm_calls, tokens, agent_steps)",
            ["budget_type", *_PER_REQUEST],
            registry=registry,
        )
        self.qos_requests = Counter(
            "qos_level_requests_total",
            "Requests by QoS level (fast, smart, auto)",
            ["qos_level", *_PER_REQUEST],
            registry=registry,
        )
        self.cache_hits = Counter(
            "performance_cache_hits_total",
            "Cache hits on request paths",
            ["cache_type", "path_type"],
            registry=registry,
        )
        self.cache_misses = Counter(
            "performance_cache_misses_total",
            "Cache misses on request paths",
            ["cache_type", "path_type"],
            registry=registry,
        )
        self.llm_requests = Counter(
            "llm_requests_total",
            "LLM calls by provider and outcome (ok, timeout, unavailable, rejected, "
            "circuit_open, budget_exceeded, cancelled, error)",
            ["provider", "outcome"],
            registry=registry,
        )
        self.llm_duration = Histogram(
            "llm_request_duration_seconds",
            "Duration of LLM calls, retries included, by provider and outcome",
            ["provider", "outcome"],
            buckets=LLM_CALL_BUCKETS,
            registry=registry,
        )
        self.llm_tokens = Counter(
            "llm_tokens_total",
            "LLM tokens from provider usage, by direction (in = prompt, out = completion)",
            ["provider", "direction"],
            registry=registry,
        )

    def observe_request(
        self, *, path_type: str, endpoint: str, latency_s: float, budget: Budget, qos_level: str
    ) -> None:
        """Record one finished request: its latency (``fast_path_latency_seconds{endpoint}``
        or ``smart_path_latency_seconds{task_type=endpoint}``), the budget's real LLM calls,
        tokens and agent steps, and its QoS level. Budget refusals are not counted here; call
        :meth:`budget_exceeded` (or :meth:`budget_exceeded_for`) for those.

        Raises ``ValueError`` for an unknown ``path_type`` or ``qos_level``.
        """
        _check(path_type, PATH_TYPES, "path_type")
        _check(qos_level, QOS_LEVELS, "qos_level")
        if path_type == "fast_path":
            self.fast_path_latency.labels(endpoint).observe(latency_s)
        else:
            self.smart_path_latency.labels(endpoint).observe(latency_s)
        self.llm_calls_per_request.labels(path_type, endpoint).observe(budget.llm_calls)
        self.tokens_per_request.labels(path_type, endpoint).observe(budget.tokens)
        self.agent_steps_per_request.labels(path_type, endpoint).observe(budget.agent_steps)
        self.qos_requests.labels(qos_level, path_type, endpoint).inc()

    def budget_exceeded(self, *, kind: str, path_type: str, endpoint: str) -> None:
        """Count one request that hit the ``kind`` limit (call once per request and kind).

        Raises ``ValueError`` for an unknown ``kind`` or ``path_type``.
        """
        _check(kind, BUDGET_KINDS, "budget kind")
        _check(path_type, PATH_TYPES, "path_type")
        self.budget_exceeded_total.labels(kind, path_type, endpoint).inc()

    def budget_exceeded_for(self, budget: Budget, *, endpoint: str) -> None:
        """:meth:`budget_exceeded` for every kind in ``budget.exceeded``, with its path type."""
        for kind in sorted(budget.exceeded):
            self.budget_exceeded(kind=kind, path_type=budget.path_type, endpoint=endpoint)

    def cache_lookup(self, *, cache_type: str, path_type: str, hit: bool) -> None:
        """Count one cache hit or miss on a request path."""
        _check(path_type, PATH_TYPES, "path_type")
        (self.cache_hits if hit else self.cache_misses).labels(cache_type, path_type).inc()

    def llm_call(
        self, *, provider: str, outcome: str, seconds: float, tokens_in: int, tokens_out: int
    ) -> None:
        """Record one LLM call: its outcome, duration and the tokens the provider reported.

        Raises ``ValueError`` for an outcome outside ``LLM_OUTCOMES``.
        """
        _check(outcome, LLM_OUTCOMES, "LLM outcome")
        self.llm_requests.labels(provider, outcome).inc()
        self.llm_duration.labels(provider, outcome).observe(seconds)
        if tokens_in:
            self.llm_tokens.labels(provider, "in").inc(tokens_in)
        if tokens_out:
            self.llm_tokens.labels(provider, "out").inc(tokens_out)

    def declare(self, *, path_type: str, endpoint: str) -> None:
        """Create the zero-valued counter series of an endpoint, so that ``rate()`` in alerts
        and dashboards reads 0 instead of "no data" before the first refusal."""
        _check(path_type, PATH_TYPES, "path_type")
        for kind in BUDGET_KINDS:
            self.budget_exceeded_total.labels(kind, path_type, endpoint)
        for level in QOS_LEVELS:
            self.qos_requests.labels(level, path_type, endpoint)


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
