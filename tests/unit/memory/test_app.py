"""The composed memory service on FastStream's in-memory broker, with fakes at the ports."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from faststream.kafka import TestKafkaBroker

from servicekit.app import ServiceApp
from servicekit.clock import ManualClock
from servicekit.settings import load_settings
from services.memory.app import MemoryDeps, MemoryHandles, build_app
from services.memory.settings import MemorySettings
from tests.helpers.auth import INTERNAL_HEADERS
from tests.helpers.kit import wire
from tests.unit.memory.factories import T0, lifecycle
from tests.unit.memory.fakes import FakeEpisodes, FakePartitions

pytestmark = pytest.mark.unit
TOPIC = "u.lifecycle.v1"


def _app(store: FakeEpisodes, **overrides: Any) -> tuple[ServiceApp, list[dict[str, Any]]]:
    settings = load_settings(
        MemorySettings,
        kafka_bootstrap="127.0.0.1:1",
        topic_prefix="u.",
        postgres_dsn="postgresql://nobody@127.0.0.1:1/none",
        handler_retry_base_s=0.0,
        **overrides,
    )
    app = build_app(settings, MemoryDeps(store, FakePartitions(store)), clock=ManualClock(T0))
    letters: list[dict[str, Any]] = []

    @app.kit.broker.subscriber("u.deadletter.v1")
    async def capture(body: dict[str, Any]) -> None:
        letters.append(body)

    return app, letters


async def test_published_events_are_stored_once_and_readable() -> None:
    store = FakeEpisodes()
    app, letters = _app(store)
    a, b = lifecycle(), lifecycle(kind="run_completed")
    async with TestKafkaBroker(app.kit.broker) as br:
        await br.publish_batch(wire(a)[0], wire(b)[0], wire(a)[0], topic=TOPIC)
        await br.publish(wire(b)[0], TOPIC)
    assert {k[0] for k in store.rows} == {a.event_id, b.event_id}
    assert letters == []
    transport = httpx.ASGITransport(app=app.http)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://m", headers=INTERNAL_HEADERS
    ) as client:
        body = (await client.get("/v1/runs/run-1/timeline", params={"tenant_id": "acme"})).json()
    assert [i["kind"] for i in body["items"]] == ["run_started", "run_completed"]


async def test_failing_store_emits_no_lifecycle_echo_and_dead_letters() -> None:
    """Were retry/error events about a lifecycle event published, this in-memory broker would
    hand them straight back to memory's own handler: the store would see more than one id."""
    store = FakeEpisodes()
    store.failure = ConnectionError("postgres down")
    app, letters = _app(store, handler_retries=2)
    event = lifecycle()
    async with TestKafkaBroker(app.kit.broker) as br:
        await br.publish(wire(event)[0], TOPIC)
    seen = {e.event_id for call in store.add_calls for e in call}
    assert seen == {event.event_id}
    assert len(store.add_calls) == 3  # first try + 2 retries
    assert [letter["payload"]["error_category"] for letter in letters] == ["retryable"]
    handles = app.deps
    assert isinstance(handles, MemoryHandles)
    registry = app.kit.metrics.registry
    assert registry.get_sample_value("tgi_lifecycle_suppressed_total", {"kind": "retry"}) == 2
    assert registry.get_sample_value("tgi_lifecycle_suppressed_total", {"kind": "error"}) == 1


async def test_unstorable_event_is_dead_lettered_alone_as_invalid() -> None:
    store = FakeEpisodes()
    app, letters = _app(store)
    good, bad = lifecycle(), lifecycle(details={"x": "\x00"})
    async with TestKafkaBroker(app.kit.broker) as br:
        await br.publish_batch(wire(good)[0], wire(bad)[0], topic=TOPIC)
    assert {k[0] for k in store.rows} == {good.event_id}
    assert [letter["payload"]["error_category"] for letter in letters] == ["invalid"]
