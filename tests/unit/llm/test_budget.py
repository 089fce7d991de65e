"""Budget: limits checked before spending, real usage charged after, concurrent calls held."""

from __future__ import annotations

import pytest

from servicekit.llm import Budget, BudgetExceeded, Completion

pytestmark = pytest.mark.unit


def _completion(tokens_in: int, tokens_out: int) -> Completion:
    return Completion("ok", tokens_in, tokens_out, "p", "m", estimated=False)


def test_defaults_are_the_seed_targets() -> None:
    budget = Budget()
    assert (budget.max_llm_calls, budget.max_tokens, budget.max_agent_steps) == (3, 8000, 4)
    assert budget.path_type == "fast_path"
    assert (budget.llm_calls, budget.tokens, budget.agent_steps, budget.exceeded) == (
        0,
        0,
        0,
        set(),
    )


def test_calls_are_refused_before_the_limit_is_passed() -> None:
    budget = Budget(max_llm_calls=2)
    for _ in range(2):
        budget.check_call(10)
        budget.charge(_completion(7, 3))
    with pytest.raises(BudgetExceeded) as info:
        budget.check_call(10)
    assert info.value.kind == "llm_calls"
    assert (info.value.limit, info.value.requested) == (2, 3)
    assert budget.llm_calls == 2
    assert budget.tokens == 20
    assert budget.exceeded == {"llm_calls"}


def test_tokens_are_checked_with_the_estimate_and_charged_with_real_usage() -> None:
    budget = Budget(max_tokens=100)
    budget.check_call(100)  # exactly at the limit passes
    budget.charge(_completion(30, 20))
    assert budget.tokens == 50
    assert budget.remaining_tokens == 50
    with pytest.raises(BudgetExceeded) as info:
        budget.check_call(51)
    assert info.value.kind == "tokens"
    assert budget.exceeded == {"tokens"}
    assert budget.llm_calls == 1


def test_real_usage_past_the_limit_is_recorded_not_raised() -> None:
    budget = Budget(max_tokens=100)
    budget.charge(_completion(90, 40))
    assert budget.tokens == 130
    assert budget.exceeded == {"tokens"}


def test_steps_stop_at_the_limit_and_the_refused_step_is_not_counted() -> None:
    budget = Budget(max_agent_steps=2)
    budget.step()
    budget.step()
    with pytest.raises(BudgetExceeded) as info:
        budget.step()
    assert info.value.kind == "agent_steps"
    assert budget.agent_steps == 2
    assert budget.exceeded == {"agent_steps"}


def test_exceeded_is_a_copy() -> None:
    budget = Budget(max_agent_steps=0)
    with pytest.raises(BudgetExceeded):
        budget.step()
    budget.exceeded.clear()
    assert budget.exceeded == {"agent_steps"}


def test_reservations_hold_calls_and_tokens_of_calls_in_flight() -> None:
    budget = Budget(max_llm_calls=2, max_tokens=1000)
    first = budget.reserve(400)
    second = budget.reserve(400)
    with pytest.raises(BudgetExceeded) as info:
        budget.reserve(10)  # a third concurrent call: two are already in flight
    assert info.value.kind == "llm_calls"
    first.charge(_completion(50, 50))
    first.charge(_completion(50, 50))  # settling twice does nothing
    second.charge_failure()
    assert budget.llm_calls == 2
    assert budget.tokens == 100
    assert budget.remaining_tokens == 900


def test_tokens_held_by_a_reservation_count_against_other_calls() -> None:
    budget = Budget(max_llm_calls=5, max_tokens=1000)
    held = budget.reserve(800)
    with pytest.raises(BudgetExceeded) as info:
        budget.check_call(300)
    assert info.value.kind == "tokens"
    held.release()  # never sent: nothing counted
    budget.check_call(1000)
    assert (budget.llm_calls, budget.tokens) == (0, 0)


def test_negative_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="≥ 0"):
        Budget(max_tokens=-1)
