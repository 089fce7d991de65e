"""The smart path and runs: 202 with a run id, the run's lifecycle to completion by the
digest and trend services' events, digests asked for directly, trends, status questions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker

from contracts.envelope import make_envelope
from contracts.v1.common import PostRef, Usage
from contracts.v1.digest import DigestCompleted
from contracts.v1.queries import QueryAnswered
from contracts.v1.trend import TrendDetected
from services.memory.schemas import EpisodeOut
from services.router.ports import TrendReport
from services.router.routing import TimeWindow
from tests.helpers.kit import wire
from tests.unit.router.fakes import T0, doc
from tests.unit.router.wiring import PREFIX, World, bearer, client, compose, handles

pytestmark = pytest.mark.unit


def _world() -> World:
    world = World()
    world.retriever.docs["acme"] = [
        doc(1, "Сбербанк повысил ставки по вкладам."),
        doc(2, "ВТБ поднял ставки.", channel="-1001101170442"),
        doc(3, "И ещё один пост Сбербанка.", channel="-1001000724666"),
    ]
    return world


def _envelope(
    payload: Any, event_type: str, tenant: str = "acme", producer: str = "digest@0.1.0"
) -> Any:
    return make_envelope(
        payload, event_type=event_type, schema_version=1, producer=producer, tenant_id=tenant
    )


async def test_digest_question_is_202_and_the_run_completes_on_digest_completed() -> None:
    world = _world()
    world.router.window = TimeWindow(T0 - timedelta(days=7), None, "week")
    key = await world.key("acme", "alice")
    app = compose(world)
    async with client(app) as (http, broker):
        r = await http.post(
            "/v1/rag/query", json={"text": "дайджест за неделю"}, headers=bearer(key)
        )
        assert r.status_code == 202, r.text
        run_id = r.json()["run_id"]
        assert r.headers["Location"] == f"/v1/runs/{run_id}" == r.json()["location"]
        ((tenant, command),) = world.smart.digests
        assert tenant == "acme"
        assert command.run_id == run_id
        assert command.user_id == "alice"
        assert command.period_days == 7
        assert command.channels == ["-1001000724666", "-1001101170442"]  # found by retrieval
        assert world.retriever.requests[0][1].domain == "qa"
        running = (await http.get(f"/v1/runs/{run_id}", headers=bearer(key))).json()
        assert running["status"] == "running"
        assert running["kind"] == "digest"

        done = DigestCompleted(
            run_id=run_id, user_id="alice", status="completed", markdown="# Дайджест", usage=Usage()
        )
        foreign = _envelope(done, "digest.completed", tenant="other")
        await broker.publish(wire(foreign)[0], PREFIX + "digest.completed.v1")
        still = (await http.get(f"/v1/runs/{run_id}", headers=bearer(key))).json()
        assert still["status"] == "running"  # another tenant's event cannot finish our run
        await broker.publish(
            wire(_envelope(done, "digest.completed"))[0], PREFIX + "digest.completed.v1"
        )
        await broker.publish(
            wire(_envelope(done, "digest.completed"))[0], PREFIX + "digest.completed.v1"
        )
        finished = (await http.get(f"/v1/runs/{run_id}", headers=bearer(key))).json()
        as_digest = await http.get(f"/v1/digests/{run_id}", headers=bearer(key))
    assert finished["status"] == "completed"
    assert finished["result"]["markdown"] == "# Дайджест"
    assert finished["completed_at"] is not None
    assert as_digest.status_code == 200
    registry = app.kit.metrics.registry
    assert (
        registry.get_sample_value(
            "router_runs_finished_total", {"kind": "digest", "status": "completed"}
        )
        == 1
    )
    assert (
        registry.get_sample_value(
            "qos_level_requests_total",
            {"qos_level": "auto", "path_type": "smart_path", "endpoint": "/v1/rag/query"},
        )
        == 1
    )


async def test_qos_fast_answers_a_digest_question_now() -> None:
    world = _world()
    key = await world.key()
    async with client(compose(world)) as (http, _):
        r = await http.post(
            "/v1/rag/query", json={"text": "дайджест", "qos": "fast"}, headers=bearer(key)
        )
    assert r.status_code == 200
    assert r.json()["route"] == "digest"
    assert r.json()["sources"]
    assert world.smart.digests == []


def _trend(request_id: str) -> TrendDetected:
    return TrendDetected(
        trend_id="t-1",
        kind="emerging",
        headline="Ставки по вкладам",
        why_now="в 4 раза чаще обычного",
        representative_posts=[
            PostRef(post_id="acme:-1001000724666:1", channel_id="-1001000724666", message_id=1)
        ],
        channels=["-1001000724666"],
        burst_score=4.0,
        first_seen_at=T0,
        window_start=T0 - timedelta(hours=1),
        window_end=T0,
        post_count=12,
        request_id=request_id,
    )


@pytest.mark.parametrize("trending", [True, False])
async def test_trend_question_is_202_and_the_gateway_finishes_the_run(trending: bool) -> None:
    world = _world()
    key = await world.key("acme", "alice")
    app = compose(world)
    async with client(app) as (http, _):
        if trending:
            world.smart.report = TrendReport("x", trends=[_trend("x")])
        r = await http.post("/v1/rag/query", json={"text": "что в трендах?"}, headers=bearer(key))
        assert r.status_code == 202
        run_id = r.json()["run_id"]
        await handles(app).background.drain()
        run = (await http.get(f"/v1/runs/{run_id}", headers=bearer(key))).json()
    ((tenant, command),) = world.smart.trends
    assert tenant == "acme"
    assert command.request_id == run_id
    assert command.user_id == "alice"
    assert run["status"] == "completed"
    if trending:
        assert [t["headline"] for t in run["result"]["trends"]] == ["Ставки по вкладам"]
    else:
        assert run["result"]["trends"] == []
        assert "did not answer" in run["result"]["note"]
    finished = {"kind": "trend", "status": "completed"}
    assert app.kit.metrics.registry.get_sample_value("router_runs_finished_total", finished) == 1


async def test_a_run_finishes_on_another_services_answer_not_on_the_routers_own() -> None:
    world = _world()
    key = await world.key("acme", "alice")
    async with client(compose(world)) as (http, broker):
        r = await http.post(
            "/v1/digests",
            json={"kind": "channel", "channels": ["-1001000724666"], "period_days": 1},
            headers=bearer(key),
        )
        run_id = r.json()["run_id"]
        answer = QueryAnswered(
            query_id="q",
            user_id="alice",
            route="digest",
            status="answered",
            answer="Дайджест готов",
            run_id=run_id,
            usage=Usage(),
            latency_ms=10,
        )
        mine = _envelope(answer, "queries.answered", producer="router@0.1.0")
        await broker.publish(wire(mine)[0], PREFIX + "queries.answered.v1")
        status = (await http.get(f"/v1/runs/{run_id}", headers=bearer(key))).json()["status"]
        assert status == "running"
        theirs = _envelope(answer, "queries.answered", producer="digest@0.1.0")
        await broker.publish(wire(theirs)[0], PREFIX + "queries.answered.v1")
        run = (await http.get(f"/v1/runs/{run_id}", headers=bearer(key))).json()
    assert run["status"] == "completed"
    assert run["result"]["answered"]["answer"] == "Дайджест готов"


async def test_runs_of_other_users_and_tenants_are_404() -> None:
    world = _world()
    alice = await world.key("acme", "alice")
    bob = await world.key("acme", "bob")
    mallory = await world.key("other", "alice")
    async with client(compose(world)) as (http, _):
        run_id = (
            await http.post("/v1/rag/query", json={"text": "ставки"}, headers=bearer(alice))
        ).json()["run_id"]
        assert (await http.get(f"/v1/runs/{run_id}", headers=bearer(alice))).status_code == 200
        for key in (bob, mallory):
            r = await http.get(f"/v1/runs/{run_id}", headers=bearer(key))
            assert r.status_code == 404
            assert run_id in r.json()["detail"]
        assert (await http.get(f"/v1/digests/{run_id}", headers=bearer(alice))).status_code == 404
        bad = await http.get("/v1/runs/bad%20id", headers=bearer(alice))
        assert bad.status_code == 422


async def test_manifest_is_404_with_a_reason_while_the_digest_service_keeps_none() -> None:
    world = _world()
    key = await world.key()
    async with client(compose(world)) as (http, _):
        run_id = (
            await http.post("/v1/rag/query", json={"text": "ставки"}, headers=bearer(key))
        ).json()["run_id"]
        r = await http.get(f"/v1/runs/{run_id}/manifest", headers=bearer(key))
        unknown = await http.get("/v1/runs/nope/manifest", headers=bearer(key))
    assert r.status_code == 404
    assert "digest service" in r.json()["detail"]
    assert unknown.status_code == 404
    assert "no run" in unknown.json()["detail"]


async def test_post_digest_is_202_and_validated_like_the_contract() -> None:
    world = _world()
    key = await world.key("acme", "alice")
    async with client(compose(world)) as (http, _):
        r = await http.post(
            "/v1/digests",
            json={"kind": "channel", "channels": ["-1001000724666"], "period_days": 7},
            headers=bearer(key),
        )
        assert r.status_code == 202, r.text
        run_id = r.json()["run_id"]
        assert r.headers["Location"] == f"/v1/digests/{run_id}"
        got = (await http.get(f"/v1/digests/{run_id}", headers=bearer(key))).json()
        bad = await http.post(
            "/v1/digests",
            json={"kind": "channel", "channels": ["x"], "window_hours": 4},
            headers=bearer(key),
        )
        tenant = await http.post(
            "/v1/digests",
            json={"kind": "channel", "channels": ["x"], "period_days": 1, "tenant_id": "other"},
            headers=bearer(key),
        )
    assert got["status"] == "running"
    assert got["request"]["digest"]["period_days"] == 7
    assert world.smart.digests[0][0] == "acme"
    assert world.smart.digests[0][1].user_id == "alice"
    assert bad.status_code == 422
    assert "period_days" in bad.json()["message"]
    assert tenant.status_code == 422
    assert "credential" in tenant.json()["message"]
    assert len(world.smart.digests) == 1


async def test_trends_time_out_with_504_and_a_message() -> None:
    world = _world()
    key = await world.key()
    async with client(compose(world, trend_timeout_s=0.2)) as (http, _):
        r = await http.get("/v1/trends", headers=bearer(key))
    assert r.status_code == 504
    assert "trend service did not answer" in r.json()["detail"]


async def test_trends_answered() -> None:
    world = _world()
    answer = QueryAnswered(
        query_id="t",
        user_id="alice",
        route="trend",
        status="answered",
        answer="Ставки растут",
        usage=Usage(),
        latency_ms=3,
    )
    world.smart.report = TrendReport("t", answer=answer)
    key = await world.key()
    async with client(compose(world)) as (http, _):
        r = await http.get("/v1/trends?limit=5&kinds=emerging", headers=bearer(key))
    assert r.status_code == 200
    assert r.json()["answer"] == "Ставки растут"
    ((tenant, command),) = world.smart.trends
    assert tenant == "acme"
    assert command.limit == 5
    assert command.kinds == ["emerging"]


async def test_status_question_reads_the_latest_run_and_its_episodes() -> None:
    world = _world()
    key = await world.key("acme", "alice")
    async with client(compose(world)) as (http, _):
        r = await http.post("/v1/rag/query", json={"text": "дайджест"}, headers=bearer(key))
        run_id = r.json()["run_id"]
        world.episodes.timelines[("acme", run_id)] = [
            EpisodeOut(
                event_id="019390f8-1e5f-772b-8b33-1e59711c15ac",
                tenant_id="acme",
                run_id=run_id,
                kind="run_started",
                service="digest",
                domain="digest",
                user_id="alice",
                details={},
                occurred_at=T0,
                recorded_at=T0,
            )
        ]
        world.clock.advance(60)
        status = await http.post(
            "/v1/rag/query", json={"text": "что с моим последним дайджестом?"}, headers=bearer(key)
        )
    body = status.json()
    assert body["route"] == "memory"
    assert body["status"] == "answered"
    assert run_id in body["answer"]
    assert "выполняется" in body["answer"]
    assert "run_started (digest" in body["answer"]


async def test_help_and_unsupported_are_short_texts() -> None:
    world = _world()
    key = await world.key()
    async with client(compose(world)) as (http, _):
        help_ = (
            await http.post("/v1/rag/query", json={"text": "помощь"}, headers=bearer(key))
        ).json()
        joke = (
            await http.post("/v1/rag/query", json={"text": "анекдот"}, headers=bearer(key))
        ).json()
    assert help_["route"] == "help"
    assert "дайджест" in help_["answer"]
    assert help_["sources"] == []
    assert joke["status"] == "rejected"
    assert joke["route"] == "unsupported"
    assert world.retriever.requests == []


async def test_broker_failure_on_dispatch_fails_the_run_and_is_503() -> None:
    from services.router.errors import DispatchFailed

    world = _world()

    async def refuse(*args: object, **kwargs: object) -> None:
        raise DispatchFailed("digest request not published: KafkaError")

    world.smart.request_digest = refuse  # type: ignore[method-assign]
    key = await world.key()
    async with client(compose(world)) as (http, _):
        r = await http.post(
            "/v1/digests",
            json={"kind": "channel", "channels": ["x"], "period_days": 1},
            headers=bearer(key),
        )
    assert r.status_code == 503
    assert "retry later" in r.json()["detail"]
    (run,) = world.runs.rows.values()
    assert run.status == "failed"
    assert "KafkaError" in (run.error or "")


async def test_in_memory_broker_is_isolated_per_test() -> None:
    # guard: the fixtures above create brokers per app; nothing leaks between apps
    world = _world()
    app = compose(world)
    async with TestKafkaBroker(app.kit.broker):
        pass
    assert world.lifecycle == []
