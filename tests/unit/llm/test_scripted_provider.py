"""The ``scripted`` provider (benchmarks): fixed latency, canned answers, real budget charges."""

from __future__ import annotations

import time

import pytest

from servicekit.llm import Budget, LLMSettings, Message, build_llm
from servicekit.llm.scripted import ANSWER

pytestmark = pytest.mark.unit


async def test_answers_after_its_latency_and_is_charged() -> None:
    llm = build_llm(LLMSettings(provider="scripted", scripted_latency_ms=60))
    assert llm is not None
    budget = Budget(max_llm_calls=3, max_tokens=10_000)
    messages = [Message("system", "You answer."), Message("user", "What happened? " * 20)]
    started = time.monotonic()
    plain = await llm.complete(messages, budget=budget, max_tokens=100)
    took = time.monotonic() - started
    as_json = await llm.complete(messages, budget=budget, max_tokens=100, json_mode=True)
    await llm.aclose()
    assert took >= 0.06
    assert plain.text == ANSWER
    assert as_json.text == "{}"
    assert plain.provider == "scripted"
    assert plain.tokens_in > 20
    assert budget.llm_calls == 2
    assert budget.tokens == plain.tokens + as_json.tokens


def test_rejects_a_negative_latency() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        LLMSettings(provider="scripted", scripted_latency_ms=-1)
