"""ResilientLLM around a scripted raw provider: budget, deadline, retries, breaker, metrics."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from servicekit.clock import ManualClock
from servicekit.llm import (
    Budget,
    BudgetExceeded,
    CircuitBreaker,
    CircuitOpen,
    Completion,
    LLMRejected,
    LLMTimeout,
    LLMTransient,
    LLMUnavailable,
    Message,
    PerformanceMetrics,
    ResilientLLM,
)

pytestmark = pytest.mark.unit


def _state(breaker: CircuitBreaker) -> str:
    """The state, read through a call (mypy would otherwise narrow the property)."""
    return breaker.state


MESSAGES = [Message("system", "Answer in JSON."), Message("user", "Что нового?")]
OK = Completion("answer", 40, 12, "fake", "fake-1", estimated=False)
EPSILON_S = 0.1  # scheduling slack on a shared 2-core machine


class FakeProvider:
    """A raw provider answering from a script: a Completion, an exception, or a delay (s)."""

    provider = "fake"
    model = "fake-1"

    def __init__(self, *script: Completion | Exception | float) -> None:
        self.script: deque[Completion | Exception | float] = deque(script)
        self.calls = 0

    async def chat(
        self, messages: Sequence[Message], *, max_tokens: int, temperature: float, json_mode: bool
    ) -> Completion:
        self.calls += 1
        item = self.script.popleft() if self.script else OK
        if isinstance(item, Exception):
            raise item
        if isinstance(item, float):
            await asyncio.sleep(item)
            return OK
        return item

    async def aclose(self) -> None:
        pass


def _llm(
    provider: FakeProvider, *, failures: int = 3, **kwargs: object
) -> tuple[ResilientLLM, PerformanceMetrics, ManualClock]:
    clock = ManualClock(datetime(2024, 12, 1, tzinfo=UTC))
    metrics = PerformanceMetrics(CollectorRegistry())
    breaker = CircuitBreaker(failures=failures, reset_s=30, name="fake", clock=clock)
    options: dict[str, object] = {"retries": 2, "backoff_s": 0.001} | kwargs
    llm = ResilientLLM(provider, breaker=breaker, metrics=metrics, **options)  # type: ignore[arg-type]
    return llm, metrics, clock


def _count(metrics: PerformanceMetrics, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "llm_requests_total", {"provider": "fake", "outcome": outcome}
    )
    return value or 0.0


async def test_a_success_is_charged_with_the_providers_usage_and_recorded() -> None:
    provider = FakeProvider()
    llm, metrics, _ = _llm(provider)
    budget = Budget()
    completion = await llm.complete(MESSAGES, budget=budget, max_tokens=100)
    assert completion == OK
    assert (budget.llm_calls, budget.tokens) == (1, 52)
    assert _count(metrics, "ok") == 1
    tokens = metrics.registry.get_sample_value
    assert tokens("llm_tokens_total", {"provider": "fake", "direction": "in"}) == 40
    assert tokens("llm_tokens_total", {"provider": "fake", "direction": "out"}) == 12
    assert tokens("llm_request_duration_seconds_count", {"provider": "fake", "outcome": "ok"}) == 1


async def test_transient_failures_are_retried_then_succeed() -> None:
    provider = FakeProvider(LLMTransient("fake answered HTTP 503"), LLMTransient("HTTP 429"))
    llm, _, _ = _llm(provider)
    budget = Budget()
    assert await llm.complete(MESSAGES, budget=budget) == OK
    assert provider.calls == 3
    assert budget.llm_calls == 1  # one logical call, whatever its attempts


async def test_retries_are_bounded_then_unavailable() -> None:
    provider = FakeProvider(*(LLMTransient("fake answered HTTP 502") for _ in range(5)))
    llm, metrics, _ = _llm(provider, retries=2)
    budget = Budget()
    with pytest.raises(LLMUnavailable, match=r"HTTP 502 \(3 attempts\)"):
        await llm.complete(MESSAGES, budget=budget)
    assert provider.calls == 3
    assert (budget.llm_calls, budget.tokens) == (1, 0)
    assert _count(metrics, "unavailable") == 1


@pytest.mark.parametrize(
    ("error", "expected"),
    [(LLMRejected("HTTP 400"), LLMRejected), (LLMUnavailable("HTTP 401"), LLMUnavailable)],
)
async def test_errors_a_retry_cannot_fix_are_not_retried(
    error: Exception, expected: type[Exception]
) -> None:
    provider = FakeProvider(error)
    llm, _, _ = _llm(provider)
    with pytest.raises(expected):
        await llm.complete(MESSAGES, budget=Budget())
    assert provider.calls == 1


async def test_a_rejected_request_does_not_trip_the_breaker() -> None:
    provider = FakeProvider(*(LLMRejected("HTTP 422") for _ in range(5)))
    llm, metrics, _ = _llm(provider, failures=2)
    for _ in range(5):
        with pytest.raises(LLMRejected):
            await llm.complete(MESSAGES, budget=Budget(max_llm_calls=1))
    assert _state(llm.breaker) == "closed"
    assert _count(metrics, "rejected") == 5


async def test_an_exhausted_budget_refuses_before_anything_is_sent() -> None:
    provider = FakeProvider()
    llm, metrics, _ = _llm(provider)
    budget = Budget(max_llm_calls=1)
    await llm.complete(MESSAGES, budget=budget)
    with pytest.raises(BudgetExceeded) as info:
        await llm.complete(MESSAGES, budget=budget)
    assert info.value.kind == "llm_calls"
    tight = Budget(max_tokens=100)
    with pytest.raises(BudgetExceeded) as info:
        await llm.complete(MESSAGES, budget=tight, max_tokens=90)  # prompt estimate + 90 > 100
    assert info.value.kind == "tokens"
    assert provider.calls == 1
    assert budget.exceeded == {"llm_calls"}
    assert tight.exceeded == {"tokens"}
    assert (tight.llm_calls, tight.tokens) == (0, 0)
    assert _count(metrics, "budget_exceeded") == 2


async def test_concurrent_calls_under_one_budget_cannot_pass_its_limit() -> None:
    provider = FakeProvider(0.02, 0.02, 0.02)
    llm, _, _ = _llm(provider)
    budget = Budget(max_llm_calls=2)
    results = await asyncio.gather(
        *(llm.complete(MESSAGES, budget=budget) for _ in range(3)), return_exceptions=True
    )
    assert sum(isinstance(r, BudgetExceeded) for r in results) == 1
    assert provider.calls == 2
    assert budget.llm_calls == 2


async def test_the_breaker_opens_fails_fast_then_closes_after_a_good_trial() -> None:
    provider = FakeProvider(LLMUnavailable("HTTP 401"), LLMUnavailable("HTTP 401"))
    llm, metrics, clock = _llm(provider, failures=2)
    for _ in range(2):
        with pytest.raises(LLMUnavailable):
            await llm.complete(MESSAGES, budget=Budget())
    assert _state(llm.breaker) == "open"
    budget = Budget()
    started = time.monotonic()
    with pytest.raises(CircuitOpen):
        await llm.complete(MESSAGES, budget=budget)
    assert time.monotonic() - started < 0.05
    assert provider.calls == 2  # nothing sent while open
    assert budget.llm_calls == 0  # and nothing charged
    assert _count(metrics, "circuit_open") == 1
    clock.advance(30)
    assert await llm.complete(MESSAGES, budget=budget) == OK  # the half-open trial
    assert _state(llm.breaker) == "closed"


async def test_a_failed_half_open_trial_opens_the_breaker_again() -> None:
    provider = FakeProvider(*(LLMUnavailable("HTTP 503 after retries") for _ in range(3)))
    llm, _, clock = _llm(provider, failures=2)
    for _ in range(2):
        with pytest.raises(LLMUnavailable):
            await llm.complete(MESSAGES, budget=Budget())
    clock.advance(30)
    with pytest.raises(LLMUnavailable):
        await llm.complete(MESSAGES, budget=Budget())
    assert provider.calls == 3
    with pytest.raises(CircuitOpen):
        await llm.complete(MESSAGES, budget=Budget())


async def test_a_slow_provider_is_cut_at_the_deadline() -> None:
    provider = FakeProvider(5.0)
    llm, metrics, _ = _llm(provider)
    budget = Budget()
    started = time.monotonic()
    with pytest.raises(LLMTimeout, match=r"no answer within 0\.200 s"):
        await llm.complete(MESSAGES, budget=budget, timeout_s=0.2)
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 0.2 + EPSILON_S
    assert budget.llm_calls == 1
    assert _count(metrics, "timeout") == 1


async def test_the_settings_cap_the_callers_deadline() -> None:
    provider = FakeProvider(5.0)
    llm, _, _ = _llm(provider, max_timeout_s=0.15)
    started = time.monotonic()
    with pytest.raises(LLMTimeout):
        await llm.complete(MESSAGES, budget=Budget(), timeout_s=10)
    assert time.monotonic() - started < 0.15 + EPSILON_S


async def test_timeouts_count_as_breaker_failures() -> None:
    provider = FakeProvider(1.0, 1.0)
    llm, _, _ = _llm(provider, failures=2)
    for _ in range(2):
        with pytest.raises(LLMTimeout):
            await llm.complete(MESSAGES, budget=Budget(), timeout_s=0.05)
    assert _state(llm.breaker) == "open"


async def test_no_retry_is_started_that_would_end_after_the_deadline() -> None:
    provider = FakeProvider(LLMTransient("fake answered HTTP 503"), LLMTransient("503"))
    llm, _, _ = _llm(provider, backoff_s=1.0)
    started = time.monotonic()
    with pytest.raises(LLMUnavailable, match="no time left"):
        await llm.complete(MESSAGES, budget=Budget(), timeout_s=0.3)
    assert time.monotonic() - started < 0.1
    assert provider.calls == 1


async def test_the_deadline_covers_retries_and_backoff_together() -> None:
    provider = FakeProvider(0.12, 0.12)  # each attempt slow...
    provider.script.appendleft(LLMTransient("HTTP 503"))
    llm, _, _ = _llm(provider, backoff_s=0.01)
    started = time.monotonic()
    with pytest.raises(LLMTimeout):
        await llm.complete(MESSAGES, budget=Budget(), timeout_s=0.1)
    assert time.monotonic() - started < 0.1 + EPSILON_S


async def test_a_cancelled_call_frees_the_half_open_trial_and_is_recorded() -> None:
    provider = FakeProvider(LLMUnavailable("x"), LLMUnavailable("x"), 5.0)
    llm, metrics, clock = _llm(provider, failures=2)
    for _ in range(2):
        with pytest.raises(LLMUnavailable):
            await llm.complete(MESSAGES, budget=Budget())
    clock.advance(30)
    budget = Budget()
    task = asyncio.create_task(llm.complete(MESSAGES, budget=budget))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _state(llm.breaker) == "half_open"
    assert budget.llm_calls == 1
    assert _count(metrics, "cancelled") == 1
    assert await llm.complete(MESSAGES, budget=Budget()) == OK  # a new trial is allowed
    assert _state(llm.breaker) == "closed"


async def test_invalid_arguments_are_refused_before_the_budget() -> None:
    llm, _, _ = _llm(FakeProvider())
    budget = Budget()
    with pytest.raises(ValueError, match="messages"):
        await llm.complete([], budget=budget)
    with pytest.raises(ValueError, match="timeout_s"):
        await llm.complete(MESSAGES, budget=budget, timeout_s=0)
    assert budget.llm_calls == 0


def test_repr_names_provider_and_model_only() -> None:
    llm, _, _ = _llm(FakeProvider())
    assert repr(llm) == "ResilientLLM(provider='fake', model='fake-1')"
