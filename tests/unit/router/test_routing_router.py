"""``ContextRouter``: follow-ups, the decision cache, metrics, and the LLM stage with fakes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from servicekit.llm import Budget, Completion, LLMUnavailable, Message
from services.router.routing import (
    ContextRouter,
    RouteContext,
    RouteDecision,
    TimeWindow,
    heuristics,
)
from tests.helpers.llm import ScriptedLLM

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 12, 15, 0, tzinfo=UTC)
CONTEXT = RouteContext(now=NOW)
UNSURE = "zzqx wvvt"
"""No cue, no known n-gram: stages 1–2 are unsure (checked by ``test_unsure_query``)."""
GOOD = '{"route": "digest", "confidence": 0.8}'


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class StubbornLLM:
    """Ignores its own ``timeout_s`` and answers after ``delay_s``: the router's deadline
    must cut it."""

    provider = "stubborn"
    model = "stubborn-1"

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.calls = 0

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        budget: Budget,
        max_tokens: int = 512,
        temperature: float = 0.0,
        timeout_s: float = 10.0,
        json_mode: bool = False,
    ) -> Completion:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        return Completion(GOOD, 10, 5, self.provider, self.model, estimated=False)


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_unsure_query() -> None:
    decision = await ContextRouter(llm=None).route(UNSURE, CONTEXT)
    assert (decision.route, decision.stage, decision.escalated) == ("qa", "fallback", True)


# -- follow-ups -------------------------------------------------------------------------------


async def test_followup_inherits_route_and_window() -> None:
    previous = TimeWindow(NOW - timedelta(days=7), None, "week")
    context = RouteContext(
        now=NOW, previous_route="digest", previous_window=previous, previous_query="дайджест"
    )
    decision = await ContextRouter(llm=None).route("А что ещё?", context)
    assert (decision.route, decision.followup, decision.window) == ("digest", True, previous)


@pytest.mark.parametrize(
    ("query", "previous", "route", "label"),
    [
        ("А вчера?", "trend", "trend", "yesterday"),
        ("and yesterday?", "digest", "digest", "yesterday"),
        ("what else?", "trend", "trend", None),
        ("Подробнее", "qa", "qa", None),
        ("А за последние 3 дня?", "memory", "memory", "last 3d"),
    ],
)
async def test_followups(query: str, previous: str, route: str, label: str | None) -> None:
    context = RouteContext(now=NOW, previous_route=previous)  # type: ignore[arg-type]
    decision = await ContextRouter(llm=None).route(query, context)
    assert (decision.route, decision.followup) == (route, True)
    assert (decision.window.label if decision.window else None) == label


async def test_a_new_request_is_not_a_followup() -> None:
    context = RouteContext(now=NOW, previous_route="digest")
    decision = await ContextRouter(llm=None).route("А какие тренды?", context)
    assert (decision.route, decision.followup) == ("trend", False)


async def test_followup_without_a_previous_turn_takes_the_fallback() -> None:
    decision = await ContextRouter(llm=None).route("and yesterday?", CONTEXT)
    assert (decision.route, decision.followup, decision.stage) == ("qa", False, "fallback")
    assert decision.window is not None
    assert decision.window.label == "yesterday"


async def test_language() -> None:
    router = ContextRouter(llm=None)
    assert (await router.route("Что в тренде?", CONTEXT)).language == "ru"
    assert (await router.route("What's trending?", CONTEXT)).language == "en"


# -- cache ------------------------------------------------------------------------------------


async def test_cache_hit_miss_metrics_and_fresh_window() -> None:
    registry = CollectorRegistry()
    router = ContextRouter(llm=None, registry=registry)
    first = await router.route("Дайджест за вчера", CONTEXT)
    later = RouteContext(now=NOW + timedelta(days=1))
    second = await router.route("  дайджест   ЗА вчера ", later)
    assert (first.stage, second.stage) == ("heuristic", "cache")
    assert (second.route, second.confidence) == ("digest", first.confidence)
    assert first.window is not None
    assert second.window is not None
    assert first.window.since is not None
    assert second.window.since == first.window.since + timedelta(days=1)  # not cached
    assert sample(registry, "context_router_cache_misses_total") == 1
    assert sample(registry, "context_router_cache_hits_total") == 1
    assert sample(registry, "context_router_cache_size") == 1
    assert sample(registry, "context_router_requests_total", stage="cache", route="digest") == 1
    assert sample(registry, "context_router_latency_seconds_count", stage="heuristic") == 1


async def test_inflections_share_a_cache_entry() -> None:
    router = ContextRouter(llm=None)
    await router.route("Покажи тренды", CONTEXT)
    assert (await router.route("покажи трендов", CONTEXT)).stage == "cache"


async def test_cache_entries_expire() -> None:
    clock = Clock()
    router = ContextRouter(llm=None, cache_ttl_s=3600.0, monotonic=clock)
    await router.route("Тренды", CONTEXT)
    clock.now = 3599.0
    assert (await router.route("Тренды", CONTEXT)).stage == "cache"
    clock.now = 3599.0 + 3600.0
    assert (await router.route("Тренды", CONTEXT)).stage == "heuristic"


async def test_cache_evicts_the_least_recently_used() -> None:
    router = ContextRouter(llm=None, cache_size=2)
    for query in ("Тренды", "Дайджест", "Тренды", "Привет"):  # "Дайджест" is the LRU
        await router.route(query, CONTEXT)
    assert (await router.route("Тренды", CONTEXT)).stage == "cache"
    assert (await router.route("Дайджест", CONTEXT)).stage == "heuristic"


async def test_followups_are_cached_per_previous_route() -> None:
    router = ContextRouter(llm=None)
    after_digest = RouteContext(now=NOW, previous_route="digest")
    after_trend = RouteContext(now=NOW, previous_route="trend")
    assert (await router.route("А что ещё?", after_digest)).route == "digest"
    decision = await router.route("А что ещё?", after_trend)
    assert (decision.route, decision.stage) == ("trend", "heuristic")
    assert (await router.route("А что ещё?", after_trend)).stage == "cache"


async def test_other_queries_ignore_the_previous_route_in_the_key() -> None:
    router = ContextRouter(llm=None)
    await router.route("Тренды", RouteContext(now=NOW, previous_route="digest"))
    assert (await router.route("Тренды", CONTEXT)).stage == "cache"


# -- LLM stage --------------------------------------------------------------------------------


async def test_llm_decides_when_stages_1_2_are_unsure() -> None:
    registry = CollectorRegistry()
    llm = ScriptedLLM(GOOD)
    router = ContextRouter(llm=llm, registry=registry)
    budget = Budget(max_llm_calls=2)
    decision = await router.route(UNSURE, CONTEXT, budget=budget)
    assert (decision.route, decision.stage, decision.escalated) == ("digest", "llm", True)
    assert decision.confidence == 0.8
    call = llm.calls[0]
    assert (call.json_mode, call.timeout_s) == (True, 0.8)
    assert call.max_tokens <= 64
    assert f"<query>{UNSURE}</query>" in call.prompt
    assert budget.llm_calls == 1
    assert sample(registry, "context_router_llm_escalations_total", outcome="ok") == 1
    again = await router.route(UNSURE, CONTEXT, budget=budget)
    assert (again.route, again.stage, llm.call_count) == ("digest", "cache", 1)


async def test_clear_queries_never_reach_the_llm() -> None:
    llm = ScriptedLLM()
    decision = await ContextRouter(llm=llm).route("Сделай дайджест за неделю", CONTEXT)
    assert (decision.stage, llm.call_count) == ("heuristic", 0)


async def test_slow_llm_is_cut_at_the_deadline() -> None:
    registry = CollectorRegistry()
    llm = StubbornLLM(delay_s=5.0)
    router = ContextRouter(llm=llm, registry=registry)
    started = time.perf_counter()
    decision = await router.route(UNSURE, CONTEXT)
    elapsed = time.perf_counter() - started
    assert 0.75 <= elapsed < 0.95
    assert (decision.route, decision.stage, decision.escalated) == ("qa", "fallback", True)
    assert sample(registry, "context_router_llm_escalations_total", outcome="timeout") == 1


async def test_client_timeout_is_a_timeout() -> None:
    registry = CollectorRegistry()
    router = ContextRouter(
        llm=ScriptedLLM(GOOD, delay_s=1.0), registry=registry, llm_deadline_s=0.05
    )
    decision = await router.route(UNSURE, CONTEXT)
    assert decision.stage == "fallback"
    assert sample(registry, "context_router_llm_escalations_total", outcome="timeout") == 1


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (LLMUnavailable("down"), "error"),
        (RuntimeError("a bug in a client"), "error"),
        ("It is a digest request.", "bad_output"),
        ('{"route": "weather", "confidence": 0.9}', "bad_output"),
        ('{"route": "qa", "confidence": 1.5}', "bad_output"),
        ('{"route": "qa", "confidence": "high"}', "bad_output"),
        ('{"route": "qa", "confidence": 0.5, "why": "…"}', "bad_output"),
        ('{"route": "qa"} {"route": "digest"}', "bad_output"),
    ],
)
async def test_llm_failures_give_the_fallback(answer: str | BaseException, outcome: str) -> None:
    registry = CollectorRegistry()
    llm = ScriptedLLM(answer, GOOD)
    router = ContextRouter(llm=llm, registry=registry, fallback="help")
    decision = await router.route(UNSURE, CONTEXT)
    assert (decision.route, decision.stage, decision.escalated) == ("help", "fallback", True)
    assert sample(registry, "context_router_llm_escalations_total", outcome=outcome) == 1
    retry = await router.route(UNSURE, CONTEXT)  # failures are not cached
    assert (retry.route, retry.stage, llm.call_count) == ("digest", "llm", 2)


async def test_exhausted_budget_gives_the_fallback() -> None:
    registry = CollectorRegistry()
    llm = ScriptedLLM(GOOD)
    router = ContextRouter(llm=llm, registry=registry)
    decision = await router.route(UNSURE, CONTEXT, budget=Budget(max_llm_calls=0))
    assert (decision.stage, llm.refused, llm.call_count) == ("fallback", 1, 0)
    assert sample(registry, "context_router_llm_escalations_total", outcome="budget") == 1


async def test_offline_fallback_is_counted_and_cached() -> None:
    registry = CollectorRegistry()
    router = ContextRouter(llm=None, registry=registry)
    await router.route(UNSURE, CONTEXT)
    assert (await router.route(UNSURE, CONTEXT)).stage == "cache"
    assert sample(registry, "context_router_llm_escalations_total", outcome="no_llm") == 1


async def test_route_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise ValueError("a bug in stage 1")

    monkeypatch.setattr(heuristics, "decide", broken)
    registry = CollectorRegistry()
    decision: RouteDecision = await ContextRouter(llm=None, registry=registry).route(
        "Тренды", CONTEXT
    )
    assert (decision.route, decision.stage) == ("qa", "fallback")
    assert sample(registry, "context_router_requests_total", stage="fallback", route="qa") == 1


def test_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="llm_deadline_s"):
        ContextRouter(llm=None, llm_deadline_s=0)
