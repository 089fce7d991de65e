"""ScriptedLLM (tests/helpers/llm.py) keeps the LLMClient contract other services rely on."""

from __future__ import annotations

import time

import pytest

from servicekit.llm import (
    Budget,
    BudgetExceeded,
    Completion,
    LLMBadOutput,
    LLMClient,
    LLMTimeout,
    LLMUnavailable,
    Message,
)
from tests.helpers.llm import ScriptedLLM

pytestmark = pytest.mark.unit

MESSAGES = [Message("user", "Сводка за день")]


async def test_answers_failures_and_budget_in_order() -> None:
    usage = Completion("{}", 100, 20, "scripted", "scripted-1", estimated=False)
    llm = ScriptedLLM("first", LLMUnavailable("down"), usage)
    client: LLMClient = llm
    budget = Budget(max_llm_calls=3)
    first = await client.complete(MESSAGES, budget=budget, max_tokens=50, json_mode=True)
    assert first.text == "first"
    assert first.tokens_out == 2
    with pytest.raises(LLMUnavailable):
        await client.complete(MESSAGES, budget=budget)
    assert await client.complete(MESSAGES, budget=budget) is usage
    assert budget.llm_calls == 3
    assert budget.tokens == first.tokens + 120
    assert llm.call_count == 3
    assert llm.calls[0].json_mode is True
    assert llm.calls[0].prompt == "Сводка за день"
    with pytest.raises(BudgetExceeded):
        await client.complete(MESSAGES, budget=budget)
    assert (llm.call_count, llm.refused) == (3, 1)


async def test_a_delay_past_the_deadline_times_out_at_the_deadline() -> None:
    llm = ScriptedLLM("late", delay_s=5.0)
    budget = Budget()
    started = time.monotonic()
    with pytest.raises(LLMTimeout):
        await llm.complete(MESSAGES, budget=budget, timeout_s=0.05)
    assert time.monotonic() - started < 0.5
    assert llm.remaining == 1  # the answer is still queued
    assert budget.llm_calls == 1


async def test_an_empty_script_fails_loudly_unless_a_default_is_set() -> None:
    with pytest.raises(AssertionError, match="no scripted answer left"):
        await ScriptedLLM().complete(MESSAGES, budget=Budget())
    llm = ScriptedLLM(default="не знаю")
    assert (await llm.complete(MESSAGES, budget=Budget())).text == "не знаю"
    llm.push(LLMBadOutput("not JSON"))
    with pytest.raises(LLMBadOutput):
        await llm.complete(MESSAGES, budget=Budget())
