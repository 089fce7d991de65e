"""The memory client other services use: answers when memory answers, None otherwise."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, FastAPI

from servicekit.auth import ApiGuard
from servicekit.clock import ManualClock
from services.memory.api import build_router
from services.memory.client import MemoryClient
from services.memory.metrics import MemoryMetrics
from tests.unit.memory.factories import T0, episode, spread
from tests.unit.memory.fakes import FakeEpisodes

pytestmark = pytest.mark.unit


def _dead_port() -> int:
    """A local port nothing listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def hung_server() -> AsyncIterator[str]:
    """A server that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for w in held:
            w.close()
        server.close()


async def test_dead_port_gives_none_at_once() -> None:
    async with MemoryClient(f"http://127.0.0.1:{_dead_port()}") as client:
        started = time.monotonic()
        assert await client.recent("acme") is None
        assert await client.timeline("acme", "run-1") is None
        assert time.monotonic() - started < 2.0  # httpx's own default would be 5 s per call


async def test_a_server_that_never_answers_costs_one_deadline(hung_server: str) -> None:
    async with MemoryClient(hung_server, timeout_s=0.2) as client:
        started = time.monotonic()
        assert await client.recent("acme") is None
        first = time.monotonic() - started
        # Cooling down: the next call does not wait at all.
        assert await client.recent("acme") is None
        total = time.monotonic() - started
    assert 0.15 < first < 1.5
    assert total - first < 0.05


async def test_cooldown_then_retry_after_it(metrics: MemoryMetrics) -> None:
    calls: list[str] = []

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(503, json={"detail": "down"})

    clock = ManualClock(T0)
    client = MemoryClient(
        "http://memory", cooldown_s=2.0, transport=httpx.MockTransport(down), clock=clock
    )
    assert await client.recent("acme") is None
    assert await client.recent("acme") is None
    assert len(calls) == 1
    clock.advance(2.5)
    assert await client.recent("acme") is None
    assert len(calls) == 2
    await client.aclose()


async def test_a_4xx_is_not_an_outage() -> None:
    calls = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(422, json={"detail": "bad"})

    async with MemoryClient("http://memory", transport=httpx.MockTransport(refuse)) as client:
        assert await client.recent("not a tenant") is None
        assert await client.recent("acme") is None
    assert calls == 2


async def test_garbage_answer_is_none() -> None:
    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>proxy error</html>")

    async with MemoryClient("http://memory", transport=httpx.MockTransport(garbage)) as client:
        assert await client.recent("acme") is None


async def test_reads_episodes_from_the_api(metrics: MemoryMetrics) -> None:
    store = FakeEpisodes()
    rows = spread(6)
    odd = episode(run_id="run/with?odd#chars", kind="error")
    await store.add([*rows, odd])
    app = FastAPI()
    app.include_router(build_router(store, metrics))
    transport = httpx.ASGITransport(app=app)
    async with MemoryClient("http://memory", transport=transport) as client:
        recent = await client.recent("acme", kind="retry", limit=10)
        assert recent is not None
        assert [e.event_id for e in recent] == [rows[5].event_id, rows[1].event_id]
        timeline = await client.timeline("acme", "run/with?odd#chars")
        assert timeline is not None
        assert [e.event_id for e in timeline] == [odd.event_id]
        since = await client.recent("acme", since=rows[4].occurred_at)
        assert since is not None
        assert [e.event_id for e in since] == [
            rows[5].event_id,
            rows[4].event_id,
        ]
        assert await client.recent("nobody") == []


async def test_the_client_presents_its_token_and_a_wrong_one_gives_none(
    metrics: MemoryMetrics,
) -> None:
    store = FakeEpisodes()
    await store.add([episode(tenant="acme")])
    app = FastAPI()
    guard = ApiGuard(["memory-token-0123456789"], missing_hint="(test)")
    app.include_router(build_router(store, metrics), dependencies=[Depends(guard)])
    transport = httpx.ASGITransport(app=app)
    async with MemoryClient(
        "http://memory", token="memory-token-0123456789", transport=transport
    ) as client:
        assert [e.tenant_id for e in await client.recent("acme") or []] == ["acme"]
    async with MemoryClient(
        "http://memory", token="wrong-token-0123456789", transport=transport
    ) as c:
        assert await c.recent("acme") is None
    async with MemoryClient("http://memory", transport=transport) as c:
        assert await c.recent("acme") is None
