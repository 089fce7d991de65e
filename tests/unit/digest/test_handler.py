"""``digest.requested.v1`` → one ``digest.completed.v1`` and its lifecycle events
(FastStream's in-memory broker): to the topic or the reply topic, ``quality_low`` when the
best candidate scored low, and the stored result again for the same run."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker
from prometheus_client import CollectorRegistry

from contracts import headers as H
from contracts.envelope import make_envelope
from contracts.registry import parse_envelope
from contracts.v1.digest import DigestCompleted, GenerateDigest
from servicekit.app import ServiceKit
from services.digest.handlers import digest_requested
from services.digest.metrics import build_digest_metrics
from services.digest.runner import DigestRunner, RunParams
from tests.helpers.kit import probe_settings, wire
from tests.unit.digest.fakes import T0, FakePosts, FakeStore, post

pytestmark = pytest.mark.unit
REPLIES = "replies.asker-1"
POSTS = [
    post("a", 1, "Президент Южной Кореи объявил о введении военного положения"),
    post("b", 2, "В Южной Корее президент ввёл военное положение", minutes=3),
    post("c", 3, "Астероид упал в Якутии, очевидцы сняли яркую вспышку", minutes=30),
]


def _collector(into: list[bytes]) -> Any:
    async def collect(body: dict[str, Any]) -> None:
        into.append(json.dumps(body).encode())

    return collect


def _service(store: FakeStore) -> tuple[ServiceKit, dict[str, list[bytes]], Any]:
    kit = ServiceKit(
        probe_settings("127.0.0.1:1", "u.", service_name="digest"), ensure_topics=False
    )
    metrics = build_digest_metrics(CollectorRegistry())
    runner = DigestRunner(FakePosts(POSTS), store, params=RunParams(min_posts=0))
    kit.consume(
        "digest.requested.v1",
        digest_requested.make_handler(runner, kit.publisher, kit.lifecycle, metrics, kit.clock),
    )
    seen: dict[str, list[bytes]] = {"reply": [], "topic": [], "dead": [], "life": []}
    for name, topic in (
        ("reply", REPLIES),
        ("topic", "u.digest.completed.v1"),
        ("dead", "u.deadletter.v1"),
        ("life", "u.lifecycle.v1"),
    ):
        kit.broker.subscriber(topic)(_collector(seen[name]))
    return kit, seen, metrics


def _request(run_id: str, **fields: Any) -> Any:
    cmd = GenerateDigest(
        run_id=run_id,
        user_id="u1",
        kind="channel",
        channels=["a", "b", "c"],
        period_days=1,
        until=T0 + timedelta(days=1),
        **fields,
    )
    return make_envelope(
        cmd,
        event_type="digest.requested",
        schema_version=1,
        producer="router@0.1.0",
        tenant_id="t1",
        correlation_id=run_id,
    )


def _kinds(seen: dict[str, list[bytes]]) -> list[str]:
    return [parse_envelope(b).payload.kind for b in seen["life"]]


async def test_a_request_is_answered_on_the_topic_and_again_with_the_stored_digest() -> None:
    store = FakeStore()
    kit, seen, metrics = _service(store)
    async with TestKafkaBroker(kit.broker) as br:
        for envelope in (_request("r1"), _request("r1")):  # the same run asked twice
            value, headers = wire(envelope)
            await br.publish(value, "u.digest.requested.v1", headers=headers)
    assert seen["dead"] == []
    first, again = (parse_envelope(b).payload for b in seen["topic"])
    assert isinstance(first, DigestCompleted)
    assert first.status == "completed"
    assert first == again
    assert _kinds(seen) == ["run_started", "run_completed"] * 2
    assert metrics.runs.labels("channel", "completed")._value.get() == 1
    latency = metrics.perf.smart_path_latency.labels("digest")
    assert latency._sum.get() > 0  # observed once, for the digest actually written


async def test_low_quality_is_a_quality_low_event_sent_to_the_reply_topic() -> None:
    kit, seen, _ = _service(FakeStore())
    request = _request("r2", language="en")
    async with TestKafkaBroker(kit.broker) as br:
        value, headers = wire(request)
        await br.publish(value, "u.digest.requested.v1", headers={**headers, H.REPLY_TO: REPLIES})
    assert seen["topic"] == []
    [reply] = [parse_envelope(b) for b in seen["reply"]]
    assert reply.causation_id == request.event_id
    assert reply.payload.status == "quality_low"
    assert _kinds(seen) == ["run_started", "quality_low", "run_completed"]
