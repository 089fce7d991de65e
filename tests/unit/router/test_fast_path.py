"""The fast path through the REST API: LLM answers with checked citations, degraded
extractive answers under budgets and timeouts, history, per-hop timings, failures."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from servicekit.llm import LLMUnavailable
from services.router.domain.model import Turn
from tests.helpers.llm import ScriptedLLM
from tests.unit.router.fakes import T0, doc
from tests.unit.router.wiring import World, bearer, client, compose

pytestmark = pytest.mark.unit
ENDPOINT = {"path_type": "fast_path", "endpoint": "/v1/rag/query"}


def _world(llm: ScriptedLLM | None = None) -> World:
    world = World(llm=llm)
    world.retriever.docs["acme"] = [
        doc(1, "Сбербанк повысил ставки по вкладам до 22% годовых. Условия с понедельника."),
        doc(2, "ВТБ поднял ставки по депозитам вслед за Сбербанком.", channel="-1001101170442"),
        doc(3, "Погода: завтра без осадков.", channel="-1001237513492"),
    ]
    return world


async def test_offline_answer_is_extractive_cited_and_timed() -> None:
    world = _world()
    key = await world.key()
    app = compose(world)
    async with client(app) as (http, _):
        r = await http.post(
            "/v1/rag/query", json={"text": "ставки по вкладам"}, headers=bearer(key)
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "extractive"
    assert body["status"] == "answered"
    assert body["usage"] == {"llm_calls": 0, "tokens_in": 0, "tokens_out": 0, "agent_steps": 3}
    assert {s["post_id"] for s in body["sources"]} <= {
        "acme:-1001000724666:1",
        "acme:-1001101170442:2",
    }
    assert all(s["permalink"].startswith("https://t.me/") for s in body["sources"])
    hops = {p.split(";")[0].strip() for p in r.headers["Server-Timing"].split(",")}
    assert {"auth", "history", "route", "retrieval", "answer", "record", "total"} <= hops
    assert set(body["timings_ms"]) >= {"retrieval", "answer", "total"}
    ((tenant, request),) = world.retriever.requests
    assert tenant == "acme"
    assert request.domain == "qa"
    assert request.top_k == 8
    registry = app.kit.metrics.registry
    assert (
        registry.get_sample_value("fast_path_latency_seconds_count", {"endpoint": "/v1/rag/query"})
        == 1
    )
    assert registry.get_sample_value("agent_steps_per_request_sum", ENDPOINT) == 3
    assert (
        registry.get_sample_value("qos_level_requests_total", {"qos_level": "auto", **ENDPOINT})
        == 1
    )


async def test_llm_answer_cites_only_context_documents_renumbered() -> None:
    llm = ScriptedLLM("ВТБ поднял ставки [2]. Сбербанк — до 22% [1]. Выдумка [9].")
    world = _world(llm)
    key = await world.key()
    app = compose(world)
    async with client(app) as (http, _):
        r = await http.post(
            "/v1/rag/query", json={"text": "ставки по вкладам"}, headers=bearer(key)
        )
    body = r.json()
    assert body["mode"] == "llm"
    assert body["answer"] == "ВТБ поднял ставки [1]. Сбербанк — до 22% [2]. Выдумка ."
    assert [s["post_id"] for s in body["sources"]] == [
        "acme:-1001101170442:2",
        "acme:-1001000724666:1",
    ]
    assert body["usage"]["llm_calls"] == 1
    assert body["usage"]["tokens_in"] > 0
    assert body["usage"]["tokens_out"] > 0
    prompt = llm.calls[0].prompt
    assert "[1] Naked Science" in prompt
    assert "Вопрос: ставки по вкладам" in prompt
    registry = app.kit.metrics.registry
    tokens = registry.get_sample_value("tokens_per_request_sum", ENDPOINT)
    assert tokens == body["usage"]["tokens_in"] + body["usage"]["tokens_out"]


async def test_budget_exceeded_gives_a_degraded_extractive_answer_and_counts() -> None:
    llm = ScriptedLLM("never used")
    world = _world(llm)
    key = await world.key()
    app = compose(world)
    async with client(app) as (http, _):
        r = await http.post(
            "/v1/rag/query",
            json={"text": "ставки по вкладам", "budget": {"max_tokens": 50}},
            headers=bearer(key),
        )
    body = r.json()
    assert r.status_code == 200
    assert body["mode"] == "extractive"
    assert "budget" in body["degraded"]
    assert body["sources"]
    assert "[1]" in body["answer"]
    assert llm.calls == []
    assert llm.refused == 1
    registry = app.kit.metrics.registry
    exceeded = {"budget_type": "tokens", **ENDPOINT}
    assert registry.get_sample_value("request_budget_exceeded_total", exceeded) == 1


async def test_agent_step_budget_refuses_the_answer_step_not_the_answer() -> None:
    llm = ScriptedLLM("never used")
    world = _world(llm)
    key = await world.key()
    app = compose(world)
    async with client(app) as (http, _):
        r = await http.post(
            "/v1/rag/query",
            json={"text": "ставки", "budget": {"max_agent_steps": 2}},
            headers=bearer(key),
        )
    body = r.json()
    assert body["mode"] == "extractive"
    assert "budget" in body["degraded"]
    assert body["usage"]["agent_steps"] == 2
    assert llm.calls == []
    exceeded = {"budget_type": "agent_steps", **ENDPOINT}
    assert app.kit.metrics.registry.get_sample_value("request_budget_exceeded_total", exceeded) == 1


async def test_zero_llm_calls_asked_is_extractive_without_counting_as_exceeded() -> None:
    llm = ScriptedLLM("never used")
    world = _world(llm)
    key = await world.key()
    app = compose(world)
    async with client(app) as (http, _):
        r = await http.post(
            "/v1/rag/query",
            json={"text": "ставки", "budget": {"max_llm_calls": 0}},
            headers=bearer(key),
        )
    assert r.json()["mode"] == "extractive"
    assert r.json()["degraded"] == []
    registry = app.kit.metrics.registry
    for kind in ("llm_calls", "tokens", "agent_steps"):
        labels = {"budget_type": kind, **ENDPOINT}
        assert registry.get_sample_value("request_budget_exceeded_total", labels) == 0


async def test_llm_timeout_falls_back_within_the_deadline() -> None:
    llm = ScriptedLLM("too late", delay_s=30)
    world = _world(llm)
    key = await world.key()
    app = compose(world, answer_timeout_s=0.3, request_deadline_s=2.0)
    async with client(app) as (http, _):
        started = time.monotonic()
        r = await http.post("/v1/rag/query", json={"text": "ставки"}, headers=bearer(key))
        took = time.monotonic() - started
    body = r.json()
    assert r.status_code == 200
    assert took < 1.5
    assert body["mode"] == "extractive"
    assert "llm" in body["degraded"]
    assert body["sources"]
    assert body["usage"]["llm_calls"] == 1


async def test_the_deadline_bounds_the_llm_call_even_with_a_long_llm_timeout() -> None:
    llm = ScriptedLLM("too late", delay_s=30)
    world = _world(llm)
    world.router.delay_s = 0.2
    key = await world.key()
    async with client(compose(world, answer_timeout_s=30, request_deadline_s=0.8)) as (http, _):
        started = time.monotonic()
        r = await http.post("/v1/rag/query", json={"text": "ставки"}, headers=bearer(key))
        took = time.monotonic() - started
    assert r.status_code == 200
    assert took < 1.3
    assert llm.calls[0].timeout_s < 0.8


@pytest.mark.parametrize("failure", ["Без единой ссылки.", LLMUnavailable("down")])
async def test_uncited_or_failed_llm_answer_falls_back(failure: str | Exception) -> None:
    world = _world(ScriptedLLM(failure))
    key = await world.key()
    async with client(compose(world)) as (http, _):
        r = await http.post("/v1/rag/query", json={"text": "ставки"}, headers=bearer(key))
    body = r.json()
    assert body["mode"] == "extractive"
    assert "llm" in body["degraded"]
    assert body["sources"]


async def test_router_timeout_falls_back_to_qa() -> None:
    world = _world()
    world.router.delay_s = 5
    key = await world.key()
    async with client(compose(world, route_timeout_s=0.1)) as (http, _):
        started = time.monotonic()
        r = await http.post("/v1/rag/query", json={"text": "дайджест"}, headers=bearer(key))
    body = r.json()
    assert time.monotonic() - started < 1.0
    assert body["route"] == "qa"
    assert body["route_stage"] == "fallback"
    assert "router" in body["degraded"]
    assert body["sources"]


async def test_history_is_the_last_five_turns_within_24_hours() -> None:
    llm = ScriptedLLM("Ответ [1].")
    world = _world(llm)
    key = await world.key("acme", "alice")
    for i in range(8):  # 7 recent ones and one older than a day
        age = timedelta(hours=30) if i == 0 else timedelta(minutes=60 - i)
        world.turns.rows.append(
            Turn("acme", "alice", f"r{i}", f"вопрос {i}", f"ответ {i}", "qa", T0 - age)
        )
    world.turns.rows.append(Turn("acme", "bob", "rb", "чужой вопрос", "ответ", "qa", T0))
    world.turns.rows.append(Turn("other", "alice", "ro", "другой тенант", "ответ", "qa", T0))
    async with client(compose(world)) as (http, _):
        await http.post("/v1/rag/query", json={"text": "а что ещё?"}, headers=bearer(key))
    prompt = llm.calls[0].prompt
    asked = [f"вопрос {i}" for i in range(8) if f"вопрос {i}" in prompt]
    assert asked == ["вопрос 3", "вопрос 4", "вопрос 5", "вопрос 6", "вопрос 7"]
    assert "чужой вопрос" not in prompt
    assert "другой тенант" not in prompt
    assert prompt.index("вопрос 3") < prompt.index("вопрос 7")  # oldest first
    context = world.router.contexts[0]
    assert context.previous_query == "вопрос 7"
    assert context.previous_route == "qa"


async def test_a_follow_up_searches_with_the_previous_question() -> None:
    world = _world()
    key = await world.key()
    async with client(compose(world)) as (http, _):
        await http.post("/v1/rag/query", json={"text": "ставки по вкладам"}, headers=bearer(key))
        world.clock.advance(30)
        r = await http.post("/v1/rag/query", json={"text": "а у ВТБ?"}, headers=bearer(key))
    assert r.json()["followup"] is True
    assert world.retriever.requests[1][1].query == "ставки по вкладам а у ВТБ?"


async def test_time_window_and_channels_filter_retrieval() -> None:
    from services.router.routing import TimeWindow

    world = _world()
    world.router.window = TimeWindow(T0 - timedelta(days=1), T0, "yesterday")
    key = await world.key()
    async with client(compose(world)) as (http, _):
        r = await http.post(
            "/v1/rag/query",
            json={"text": "ставки вчера", "channels": ["-1001000724666"]},
            headers=bearer(key),
        )
    filters = world.retriever.requests[0][1].filters
    assert filters.channels == ["-1001000724666"]
    assert (filters.since, filters.until) == (T0 - timedelta(days=1), T0)
    assert r.json()["window"]["label"] == "yesterday"


async def test_nothing_found_is_no_results_not_old_posts() -> None:
    world = _world()
    world.retriever.docs["acme"] = []
    key = await world.key()
    async with client(compose(world)) as (http, _):
        r = await http.post("/v1/rag/query", json={"text": "ставки"}, headers=bearer(key))
    assert r.status_code == 200
    assert r.json()["status"] == "no_results"
    assert r.json()["sources"] == []


async def test_retrieval_down_is_503_and_an_error_event() -> None:
    world = _world()
    world.retriever.down = True
    key = await world.key()
    async with client(compose(world)) as (http, _):
        r = await http.post("/v1/rag/query", json={"text": "ставки"}, headers=bearer(key))
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "1"
    assert r.json()["degraded"] == ["retrieval"]
    kinds = [e["payload"]["kind"] for e in world.lifecycle]
    assert kinds == ["run_started", "error"]
    (run,) = world.runs.rows.values()
    assert run.status == "failed"


async def test_history_store_down_degrades_instead_of_failing() -> None:
    world = _world()
    world.turns.down = True
    key = await world.key()
    async with client(compose(world)) as (http, _):
        r = await http.post("/v1/rag/query", json={"text": "ставки"}, headers=bearer(key))
    assert r.status_code == 200
    assert "history" in r.json()["degraded"]


async def test_lifecycle_events_per_request() -> None:
    world = _world()
    key = await world.key("acme", "alice")
    async with client(compose(world)) as (http, _):
        r = await http.post("/v1/rag/query", json={"text": "ставки"}, headers=bearer(key))
    run_id = r.json()["run_id"]
    events = [e["payload"] for e in world.lifecycle]
    assert [e["kind"] for e in events] == ["run_started", "run_completed"]
    assert {e["run_id"] for e in events} == {run_id}
    assert {e["user_id"] for e in events} == {"alice"}
    assert {e["tenant_id"] for e in world.lifecycle} == {"acme"}
    assert events[1]["details"]["citations"] == len(r.json()["sources"])
