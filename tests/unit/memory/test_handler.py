"""The lifecycle.v1 batch handler over a fake store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from contracts.envelope import Envelope
from servicekit.clock import ManualClock
from servicekit.consumer import MessageContext
from servicekit.errors import InvalidMessage
from servicekit.logging import get_logger
from services.memory.handlers.lifecycle import make_handler
from services.memory.metrics import MemoryMetrics
from tests.unit.memory.factories import T0, lifecycle
from tests.unit.memory.fakes import FakeEpisodes

pytestmark = pytest.mark.unit


def _batch(*envelopes: Envelope[Any]) -> list[tuple[Envelope[Any], MessageContext]]:
    ctx = MessageContext(
        topic="lifecycle.v1",
        partition=0,
        offset=0,
        key=None,
        headers={},
        attempt=1,
        log=get_logger("test"),
    )
    return [(e, ctx) for e in envelopes]


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_batch_with_a_duplicate_is_stored_once_with_one_insert(
    metrics: MemoryMetrics, registry: CollectorRegistry
) -> None:
    store = FakeEpisodes()
    handle = make_handler(store, metrics, ManualClock(T0), retention_days=90)
    a, b = lifecycle(), lifecycle(kind="run_completed")
    await handle(_batch(a, b, a))
    assert len(store.add_calls) == 1
    assert len(store.add_calls[0]) == 2
    assert {k[0] for k in store.rows} == {a.event_id, b.event_id}
    # The same events again (a redelivery): nothing new stored.
    await handle(_batch(a, b))
    assert len(store.rows) == 2
    assert _value(registry, "memory_episodes_stored_total", kind="run_started") == 1
    assert _value(registry, "memory_episodes_stored_total", kind="run_completed") == 1
    assert _value(registry, "memory_episodes_ignored_total", reason="duplicate") == 3
    assert _value(registry, "memory_ingest_batch_size_count") == 2
    assert _value(registry, "memory_ingest_batch_size_sum") == 5


async def test_events_already_past_retention_are_skipped_and_counted(
    metrics: MemoryMetrics, registry: CollectorRegistry
) -> None:
    store = FakeEpisodes()
    handle = make_handler(store, metrics, ManualClock(T0), retention_days=10)
    old = lifecycle(at=T0 - timedelta(days=10, seconds=1))
    edge = lifecycle(at=T0 - timedelta(days=10))
    await handle(_batch(old, edge))
    assert [k[0] for k in store.rows] == [edge.event_id]
    assert _value(registry, "memory_episodes_ignored_total", reason="expired") == 1


async def test_an_unstorable_event_is_invalid_not_retryable(metrics: MemoryMetrics) -> None:
    store = FakeEpisodes()
    handle = make_handler(store, metrics, ManualClock(T0), retention_days=90)
    with pytest.raises(InvalidMessage, match="NUL"):
        await handle(_batch(lifecycle(), lifecycle(details={"x": "a\x00b"})))
    assert store.rows == {}


async def test_store_failure_propagates_and_stores_nothing(metrics: MemoryMetrics) -> None:
    store = FakeEpisodes()
    store.failure = ConnectionError("postgres down")
    handle = make_handler(store, metrics, ManualClock(T0), retention_days=90)
    with pytest.raises(ConnectionError):
        await handle(_batch(lifecycle()))
    assert store.rows == {}
