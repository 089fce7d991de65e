"""``GET /v1/trends`` through the gateway's real Kafka request/reply adapter and the trend
service's real ``trend.requested.v1`` handler, on FastStream's in-memory broker: no current
trends is 200 with an empty list (one empty ``TrendsReported``), not a 504; current trends
come back as one list; a trend service that never answers is still a bounded 504."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from faststream.kafka import TestKafkaBroker
from prometheus_client import CollectorRegistry

from servicekit.app import ServiceApp
from services.router.app import RouterDeps, build_app
from services.trend.adapters.memory import MemoryTrendStore
from services.trend.engine import TrendEngine
from services.trend.handlers import trend_requested
from services.trend.metrics import build_trend_metrics
from services.trend.ports import Detection, HeldPost
from services.trend.settings import TrendSettings
from tests.unit.router.wiring import PREFIX, World, bearer, settings
from tests.unit.trend.factories import indexed

pytestmark = pytest.mark.unit
TREND = TrendSettings(postgres_dsn="postgresql://unused@localhost/unused")


class _Sink:
    async def publish(self, detection: Detection) -> None:
        return None


def _engine() -> TrendEngine:
    return TrendEngine(
        MemoryTrendStore(),
        _Sink(),
        build_trend_metrics(CollectorRegistry()),
        stories=TREND.story_params(),
        burst=TREND.burst_params(),
        monotonic=lambda: 0.0,
        idle_partition_s=10,
    )


def _gateway(world: World, engine: TrendEngine | None, **overrides: Any) -> ServiceApp:
    """The router on Kafka request/reply (no fake smart path); with ``engine``, the trend
    service's handler answers on the same in-memory broker."""
    deps = RouterDeps(
        keys=world.keys,
        runs=world.runs,
        turns=world.turns,
        router=world.router,
        llm=world.llm,
        retriever=world.retriever,
        smart=None,
        episodes=world.episodes,
    )
    app = build_app(settings(**overrides), deps, clock=world.clock)
    if engine is not None:
        kit = app.kit
        metrics = build_trend_metrics(CollectorRegistry())
        kit.consume(
            "trend.requested.v1",
            trend_requested.make_handler(engine, kit.publisher, kit.lifecycle, metrics),
        )

    @app.kit.broker.subscriber(PREFIX + "lifecycle.v1")
    async def lifecycle(body: dict[str, Any]) -> None:
        world.lifecycle.append(body)

    return app


async def _get(app: ServiceApp, key: str, **params: Any) -> httpx.Response:
    async with TestKafkaBroker(app.kit.broker):
        transport = httpx.ASGITransport(app=app.http)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            return await http.get("/v1/trends", params=params, headers=bearer(key))


async def test_no_current_trends_is_200_with_an_empty_list() -> None:
    world = World()
    key = await world.key("quiet", "alice")
    r = await _get(_gateway(world, _engine(), trend_timeout_s=5.0), key)
    assert r.status_code == 200, r.text
    assert r.json()["trends"] == []
    assert r.json()["request_id"]


async def test_current_trends_come_back_as_one_list_of_the_callers_tenant() -> None:
    world = World()
    engine = _engine()
    posts = [indexed(i + 1, channel=f"ch{i}", minutes=4 * i) for i in range(5)]
    assert await engine.receive([HeldPost("acme", None, p) for p in posts])
    mine, theirs = await world.key("acme", "alice"), await world.key("other", "bob")
    app = _gateway(world, engine, trend_timeout_s=5.0)
    r = await _get(app, mine, limit=5, kinds="emerging")
    assert r.status_code == 200, r.text
    (trend,) = r.json()["trends"]
    assert trend["kind"] == "emerging"
    assert len(trend["channels"]) == 5
    assert trend["request_id"] == r.json()["request_id"]
    other = await _get(app, theirs)
    assert other.status_code == 200
    assert other.json()["trends"] == []


async def test_no_answer_at_all_is_still_a_bounded_504() -> None:
    world = World()
    key = await world.key()
    r = await _get(_gateway(world, None, trend_timeout_s=0.3), key)
    assert r.status_code == 504
    assert "did not answer" in r.json()["detail"]
