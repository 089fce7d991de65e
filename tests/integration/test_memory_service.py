"""The memory service end to end, in-process: lifecycle events on real Kafka, stored in real
Postgres, read back over its REST API (and through the client other services use)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts.envelope import Envelope
from contracts.v1.lifecycle import LifecycleKind
from servicekit.app import ServiceApp
from servicekit.settings import load_settings
from services.memory.app import MemoryHandles, build_app
from services.memory.client import MemoryClient
from services.memory.domain.episode import EpisodeFilter
from services.memory.settings import MemorySettings
from tests.conftest import new_prefix
from tests.helpers.auth import INTERNAL_HEADERS, INTERNAL_TOKEN
from tests.helpers.kafka import eventually
from tests.helpers.kit import wire
from tests.unit.memory.api_cases import BAD_REQUESTS
from tests.unit.memory.factories import episode, lifecycle
from tools.scratch import scratch_database

pytestmark = pytest.mark.integration
LIFECYCLE = "lifecycle.v1"


async def publish(bootstrap: str, topic: str, envelopes: Sequence[Envelope[Any]]) -> None:
    """Publish all, in order, with one producer (so they can share a poll on the consumer)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    await producer.start()
    try:
        futures = []
        for env in envelopes:
            value, headers = wire(env)
            futures.append(
                await producer.send(
                    topic,
                    value,
                    key=f"{env.tenant_id}:{env.payload.run_id}".encode(),
                    headers=[(k, v.encode()) for k, v in headers.items()],
                )
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


class Running:
    """A started memory service and an HTTP client on its app."""

    def __init__(self, app: ServiceApp, http: httpx.AsyncClient, prefix: str) -> None:
        self.app = app
        self.http = http
        self.prefix = prefix
        handles = app.deps
        assert isinstance(handles, MemoryHandles)
        self.handles = handles

    def metric(self, name: str, **labels: str) -> float:
        return self.app.kit.metrics.registry.get_sample_value(name, labels) or 0.0

    async def episodes(self, tenant: str, **params: Any) -> list[dict[str, Any]]:
        response = await self.http.get("/v1/episodes", params={"tenant_id": tenant, **params})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


@pytest.fixture(scope="module")
async def memory(infra: dict[str, str]) -> AsyncIterator[Running]:
    prefix = new_prefix()
    async with scratch_database(infra["TGI_POSTGRES_DSN"], "memsvc") as dsn:
        settings = load_settings(
            MemorySettings,
            kafka_bootstrap=infra["TGI_KAFKA_BOOTSTRAP"],
            topic_prefix=prefix,
            postgres_dsn=dsn,
            startup_timeout_s=30,
        )
        app = build_app(settings)
        await app.kit.start()
        transport = httpx.ASGITransport(app=app.http)
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://memory", headers=INTERNAL_HEADERS
            ) as http:
                yield Running(app, http, prefix)
        finally:
            await app.kit.stop()


def _tenant() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def _recent(minutes: int) -> datetime:
    # Inside the retention window of the running service's (system) clock.
    return datetime.now(UTC) - timedelta(minutes=minutes)


async def test_events_on_kafka_are_stored_and_read_back(memory: Running, bootstrap: str) -> None:
    tenant = _tenant()
    kinds: list[LifecycleKind] = ["run_started", "retry", "quality_low", "run_completed"]
    run = [
        lifecycle(tenant=tenant, run_id="q-1", kind=k, at=_recent(10 - i), service="router")
        for i, k in enumerate(kinds)
    ]
    other = lifecycle(
        tenant=tenant,
        run_id="q-2",
        kind="error",
        at=_recent(1),
        details={"error_class": "TimeoutError", "store": "neo4j"},
    )
    await publish(bootstrap, memory.prefix + LIFECYCLE, [*run, other])

    async def all_there() -> bool:
        return len(await memory.episodes(tenant)) == 5

    await eventually(all_there, timeout_s=30)
    items = await memory.episodes(tenant)
    assert [i["event_id"] for i in items] == [other.event_id, *[e.event_id for e in run][::-1]]
    assert items[0]["details"] == {"error_class": "TimeoutError", "store": "neo4j"}
    timeline = await memory.http.get("/v1/runs/q-1/timeline", params={"tenant_id": tenant})
    assert [i["kind"] for i in timeline.json()["items"]] == [
        "run_started",
        "retry",
        "quality_low",
        "run_completed",
    ]
    errors = await memory.episodes(tenant, kind="error")
    assert [i["run_id"] for i in errors] == ["q-2"]


async def test_duplicates_are_stored_once(memory: Running, bootstrap: str) -> None:
    tenant = _tenant()
    a, b, c = (lifecycle(tenant=tenant, run_id="dup", at=_recent(5 - i)) for i in range(3))
    before = memory.metric("memory_episodes_ignored_total", reason="duplicate")
    # One burst whose poll holds a duplicate, then the same event published again later.
    await publish(bootstrap, memory.prefix + LIFECYCLE, [a, b, a, c, b])

    async def three() -> bool:
        return len(await memory.episodes(tenant)) == 3

    await eventually(three, timeout_s=30)
    await publish(bootstrap, memory.prefix + LIFECYCLE, [a])
    await eventually(
        lambda: memory.metric("memory_episodes_ignored_total", reason="duplicate") - before >= 3,
        timeout_s=30,
    )
    items = await memory.episodes(tenant)
    assert sorted(i["event_id"] for i in items) == sorted([a.event_id, b.event_id, c.event_id])
    stored = await memory.handles.episodes.find(EpisodeFilter(tenant_id=tenant, limit=1000))
    assert len(stored) == 3
    assert memory.metric("memory_episodes_ignored_total", reason="duplicate") - before == 3


async def test_memory_emits_nothing_on_lifecycle(memory: Running, bootstrap: str) -> None:
    """Storing a lifecycle event emits no lifecycle event of memory's own (that would loop):
    the runtime counts every envelope it publishes, by topic and by lifecycle kind."""
    tenant = _tenant()
    event = lifecycle(tenant=tenant, at=_recent(1))
    await publish(bootstrap, memory.prefix + LIFECYCLE, [event])

    async def stored() -> bool:
        return len(await memory.episodes(tenant)) == 1

    await eventually(stored, timeout_s=30)
    assert memory.metric("tgi_messages_consumed_total", topic=LIFECYCLE, outcome="processed") > 0
    assert memory.metric("tgi_events_published_total", topic=LIFECYCLE) == 0
    for kind in ("run_started", "run_completed", "error", "retry", "quality_low"):
        assert memory.metric("tgi_lifecycle_events_total", kind=kind) == 0


@pytest.mark.parametrize(("url", "says"), BAD_REQUESTS)
async def test_bad_input_gets_a_clear_4xx(memory: Running, url: str, says: str) -> None:
    response = await memory.http.get(url)
    assert 400 <= response.status_code < 500, response.text
    assert says.lower() in response.text.lower()


async def test_cap_and_pagination_over_postgres(memory: Running) -> None:
    tenant = _tenant()
    start = _recent(3000)
    rows = [
        episode(tenant=tenant, run_id=f"r{i // 10}", at=start + timedelta(seconds=i))
        for i in range(2500)
    ]
    # Ties on occurred_at across page boundaries.
    rows += [episode(tenant=tenant, run_id="r0", at=rows[999].occurred_at) for _ in range(4)]
    await memory.handles.episodes.add(rows)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"tenant_id": tenant, "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        body = (await memory.http.get("/v1/episodes", params=params)).json()
        assert len(body["items"]) <= 1000
        seen += [i["event_id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == len(rows)
    assert set(seen) == {e.event_id for e in rows}
    refused = await memory.http.get("/v1/episodes", params={"tenant_id": tenant, "limit": 1001})
    assert refused.status_code == 422
    assert "capped at 1000" in refused.text
    other = await memory.episodes(_tenant())
    assert other == []  # tenant A's 2 504 rows are invisible to tenant B


async def test_client_reads_from_the_running_service(memory: Running) -> None:
    tenant = _tenant()
    await memory.handles.episodes.add(
        [
            episode(tenant=tenant, run_id="follow-up", kind=k, at=_recent(3 - i))
            for i, k in enumerate(["run_started", "run_completed"])
        ]
    )
    transport = httpx.ASGITransport(app=memory.app.http)
    async with MemoryClient(
        "http://memory", transport=transport, timeout_s=2.0, token=INTERNAL_TOKEN
    ) as client:
        recent = await client.recent(tenant, limit=5)
        timeline = await client.timeline(tenant, "follow-up")
    assert recent is not None
    assert [e.kind for e in recent] == ["run_completed", "run_started"]
    assert timeline is not None
    assert [e.kind for e in timeline] == ["run_started", "run_completed"]


async def test_ready_and_metrics(memory: Running) -> None:
    ready = await memory.http.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["postgres"] == "ok"
    text = (await memory.http.get("/metrics")).text
    for name in (
        "memory_episodes_stored_total",
        "memory_ingest_batch_size",
        "memory_read_duration_seconds",
        "memory_retention_last_run_timestamp_seconds",
    ):
        assert name in text
    assert memory.metric("memory_retention_last_run_timestamp_seconds") > 0
