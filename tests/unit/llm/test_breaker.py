"""Circuit breaker: opens after N consecutive failures, one half-open trial, then closes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from servicekit.clock import ManualClock
from servicekit.llm import CircuitBreaker, CircuitOpen, LLMUnavailable

pytestmark = pytest.mark.unit


def _state(breaker: CircuitBreaker) -> str:
    """The state, read through a call (mypy would otherwise narrow the property)."""
    return breaker.state


def _breaker(failures: int = 3, reset_s: float = 10.0) -> tuple[CircuitBreaker, ManualClock]:
    clock = ManualClock(datetime(2024, 12, 1, tzinfo=UTC))
    return CircuitBreaker(failures=failures, reset_s=reset_s, clock=clock), clock


def _fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.acquire()
        breaker.failure()


def test_opens_after_consecutive_failures_only() -> None:
    breaker, _ = _breaker(failures=3)
    _fail(breaker, 2)
    breaker.acquire()
    breaker.success()  # resets the count
    _fail(breaker, 2)
    assert _state(breaker) == "closed"
    _fail(breaker, 1)
    assert _state(breaker) == "open"
    with pytest.raises(CircuitOpen, match=r"open for another 10\.0 s") as info:
        breaker.acquire()
    assert isinstance(info.value, LLMUnavailable)


def test_half_open_lets_exactly_one_trial_through_and_its_success_closes() -> None:
    breaker, clock = _breaker()
    _fail(breaker, 3)
    clock.advance(9.9)
    with pytest.raises(CircuitOpen):
        breaker.acquire()
    clock.advance(0.1)
    breaker.acquire()  # the trial
    assert _state(breaker) == "half_open"
    with pytest.raises(CircuitOpen, match="trial call is in flight"):
        breaker.acquire()
    breaker.success()
    assert _state(breaker) == "closed"
    breaker.acquire()


def test_a_failed_trial_opens_again_for_a_full_period() -> None:
    breaker, clock = _breaker()
    _fail(breaker, 3)
    clock.advance(10)
    breaker.acquire()
    breaker.failure()
    assert _state(breaker) == "open"
    clock.advance(9)
    with pytest.raises(CircuitOpen):
        breaker.acquire()
    clock.advance(1)
    breaker.acquire()
    assert _state(breaker) == "half_open"


def test_a_trial_without_verdict_frees_the_slot_for_another_trial() -> None:
    breaker, clock = _breaker()
    _fail(breaker, 3)
    clock.advance(10)
    breaker.acquire()
    breaker.release()  # e.g. the caller cancelled it
    breaker.acquire()
    assert _state(breaker) == "half_open"


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="failures"):
        CircuitBreaker(failures=0, reset_s=1)
