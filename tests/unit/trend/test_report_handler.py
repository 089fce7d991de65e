"""``trend.requested.v1`` → exactly one ``trend.reported.v1`` (FastStream's in-memory broker):
with trends, with none (an empty list, not silence), to the reply topic or the topic."""

from __future__ import annotations

import json
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker
from prometheus_client import CollectorRegistry

from contracts import headers as H
from contracts.envelope import make_envelope
from contracts.registry import parse_envelope
from contracts.v1.trend import ReportTrends, TrendsReported
from servicekit.app import ServiceKit
from services.trend.adapters.memory import MemoryTrendStore
from services.trend.engine import TrendEngine
from services.trend.handlers import trend_requested
from services.trend.metrics import build_trend_metrics
from services.trend.ports import Detection, HeldPost
from services.trend.settings import TrendSettings
from tests.helpers.kit import probe_settings, wire
from tests.unit.trend.factories import indexed

pytestmark = pytest.mark.unit
SETTINGS = TrendSettings(postgres_dsn="postgresql://unused@localhost/unused")
REPLIES = "replies.asker-1"


class _Sink:
    async def publish(self, detection: Detection) -> None:
        return None


def _service() -> tuple[ServiceKit, TrendEngine, dict[str, list[bytes]]]:
    kit = ServiceKit(probe_settings("127.0.0.1:1", "u.", service_name="trend"), ensure_topics=False)
    metrics = build_trend_metrics(CollectorRegistry())
    engine = TrendEngine(
        MemoryTrendStore(),
        _Sink(),
        metrics,
        stories=SETTINGS.story_params(),
        burst=SETTINGS.burst_params(),
        monotonic=lambda: 0.0,
        idle_partition_s=10,
    )
    kit.consume(
        "trend.requested.v1",
        trend_requested.make_handler(engine, kit.publisher, kit.lifecycle, metrics),
    )
    seen: dict[str, list[bytes]] = {"reply": [], "topic": [], "dead": []}

    @kit.broker.subscriber(REPLIES)
    async def on_reply(body: dict[str, Any]) -> None:
        seen["reply"].append(json.dumps(body).encode())

    @kit.broker.subscriber("u.trend.reported.v1")
    async def on_topic(body: dict[str, Any]) -> None:
        seen["topic"].append(json.dumps(body).encode())

    @kit.broker.subscriber("u.deadletter.v1")
    async def on_dead(body: dict[str, Any]) -> None:
        seen["dead"].append(json.dumps(body).encode())

    @kit.broker.subscriber("u.lifecycle.v1")
    async def ignore(body: Any) -> None:
        return None

    return kit, engine, seen


def _request(request_id: str, tenant: str, **fields: Any) -> Any:
    return make_envelope(
        ReportTrends(request_id=request_id, **fields),
        event_type="trend.requested",
        schema_version=1,
        producer="router@0.1.0",
        tenant_id=tenant,
    )


async def _burst(engine: TrendEngine) -> None:
    """Five channels on one story within 20 minutes: one emerging trend of ``acme``."""
    posts = [indexed(i + 1, channel=f"ch{i}", minutes=4 * i) for i in range(5)]
    cards = await engine.receive([HeldPost("acme", None, p) for p in posts])
    assert [c.kind for c in cards] == ["emerging"]


async def test_no_trends_is_one_empty_reply_to_the_reply_topic() -> None:
    kit, _, seen = _service()
    request = _request("req-empty", "quiet")
    async with TestKafkaBroker(kit.broker) as br:
        value, headers = wire(request)
        await br.publish(value, "u.trend.requested.v1", headers={**headers, H.REPLY_TO: REPLIES})
    assert seen["dead"] == []
    assert seen["topic"] == []
    assert len(seen["reply"]) == 1
    reply = parse_envelope(seen["reply"][0])
    assert isinstance(reply.payload, TrendsReported)
    assert reply.payload == TrendsReported(request_id="req-empty", trends=[], as_of=None)
    assert (reply.tenant_id, reply.causation_id) == ("quiet", request.event_id)
    assert reply.correlation_id == request.correlation_id


async def test_current_trends_are_one_list_reply_and_a_redelivery_repeats_its_id() -> None:
    kit, engine, seen = _service()
    await _burst(engine)
    request = _request("req-1", "acme", limit=5)
    async with TestKafkaBroker(kit.broker) as br:
        value, headers = wire(request)
        for _ in range(2):  # the second is a redelivery of the same request
            await br.publish(
                value, "u.trend.requested.v1", headers={**headers, H.REPLY_TO: REPLIES}
            )
    assert seen["dead"] == []
    assert len(seen["reply"]) == 2
    first, again = (parse_envelope(b) for b in seen["reply"])
    assert first.event_id == again.event_id
    report = first.payload
    assert isinstance(report, TrendsReported)
    assert report.request_id == "req-1"
    assert [t.kind for t in report.trends] == ["emerging"]
    assert report.trends[0].request_id == "req-1"
    assert len(set(report.trends[0].channels)) == 5
    assert report.as_of == indexed(5, channel="ch4", minutes=16).date


async def test_without_reply_to_the_answer_goes_to_the_topic_scoped_to_the_tenant() -> None:
    kit, engine, seen = _service()
    await _burst(engine)
    async with TestKafkaBroker(kit.broker) as br:
        for request in (_request("mine", "acme"), _request("theirs", "other")):
            value, headers = wire(request)
            await br.publish(value, "u.trend.requested.v1", headers=headers)
    assert seen["reply"] == []
    assert seen["dead"] == []
    answers = {r.payload.request_id: r for r in map(parse_envelope, seen["topic"])}
    assert len(answers["mine"].payload.trends) == 1
    assert answers["theirs"].payload.trends == []  # another tenant sees none of acme's
    assert answers["theirs"].tenant_id == "other"
