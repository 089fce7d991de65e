"""The read API over a fake store: validation, the cap, pagination, isolation, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from services.memory.api import build_router
from services.memory.metrics import MemoryMetrics
from tests.unit.memory.api_cases import BAD_REQUESTS
from tests.unit.memory.factories import T0, episode, spread
from tests.unit.memory.fakes import FakeEpisodes

pytestmark = pytest.mark.unit


@pytest.fixture
def store() -> FakeEpisodes:
    return FakeEpisodes()


@pytest.fixture
async def client(store: FakeEpisodes, metrics: MemoryMetrics) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(build_router(store, metrics))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://memory") as c:
        yield c


@pytest.mark.parametrize(("url", "says"), BAD_REQUESTS)
async def test_bad_input_gets_a_clear_4xx(client: httpx.AsyncClient, url: str, says: str) -> None:
    response = await client.get(url)
    assert 400 <= response.status_code < 500, response.text
    assert says.lower() in response.text.lower()


async def test_default_page_is_100_newest_first_with_a_cursor(
    client: httpx.AsyncClient, store: FakeEpisodes
) -> None:
    rows = spread(150)
    await store.add(rows)
    body = (await client.get("/v1/episodes", params={"tenant_id": "acme"})).json()
    assert body["limit"] == 100
    assert len(body["items"]) == 100
    assert body["items"][0]["event_id"] == rows[-1].event_id
    assert body["next_cursor"]
    rest = (
        await client.get(
            "/v1/episodes", params={"tenant_id": "acme", "cursor": body["next_cursor"]}
        )
    ).json()
    assert len(rest["items"]) == 50
    assert rest["next_cursor"] is None
    seen = [i["event_id"] for i in body["items"] + rest["items"]]
    assert sorted(seen) == sorted(e.event_id for e in rows)


async def test_the_cap_of_1000_holds(client: httpx.AsyncClient, store: FakeEpisodes) -> None:
    await store.add(spread(1005))
    body = (await client.get("/v1/episodes", params={"tenant_id": "acme", "limit": 1000})).json()
    assert len(body["items"]) == 1000
    assert body["next_cursor"] is not None
    refused = await client.get("/v1/episodes", params={"tenant_id": "acme", "limit": 1001})
    assert refused.status_code == 422
    timeline = await store.add(
        [episode(run_id="long", at=T0 + timedelta(seconds=i)) for i in range(1001)]
    )
    assert len(timeline) == 1001
    body = (await client.get("/v1/runs/long/timeline", params={"tenant_id": "acme"})).json()
    assert len(body["items"]) == 1000
    assert body["items"][0]["occurred_at"] < body["items"][-1]["occurred_at"]
    last = (
        await client.get(
            "/v1/runs/long/timeline", params={"tenant_id": "acme", "cursor": body["next_cursor"]}
        )
    ).json()
    assert len(last["items"]) == 1
    assert last["next_cursor"] is None


async def test_tenant_a_never_sees_tenant_b(client: httpx.AsyncClient, store: FakeEpisodes) -> None:
    await store.add(spread(3, tenant="a") + spread(3, tenant="b"))
    for tenant in ("a", "b"):
        body = (await client.get("/v1/episodes", params={"tenant_id": tenant})).json()
        assert {i["tenant_id"] for i in body["items"]} == {tenant}
        run = (await client.get("/v1/runs/run-0/timeline", params={"tenant_id": tenant})).json()
        assert {i["tenant_id"] for i in run["items"]} == {tenant}


async def test_filters_pass_through(client: httpx.AsyncClient, store: FakeEpisodes) -> None:
    rows = spread(12)
    await store.add(rows)
    params = {
        "tenant_id": "acme",
        "kind": "retry",
        "service": "digest",
        "since": rows[0].occurred_at.isoformat(),
        "until": rows[6].occurred_at.isoformat(),
    }
    body = (await client.get("/v1/episodes", params=params)).json()
    assert [i["event_id"] for i in body["items"]] == [rows[5].event_id, rows[1].event_id]


async def test_store_down_is_503_not_500(client: httpx.AsyncClient, store: FakeEpisodes) -> None:
    store.unavailable = True
    response = await client.get("/v1/episodes", params={"tenant_id": "acme"})
    assert response.status_code == 503
    assert "unavailable" in response.json()["detail"]


async def test_openapi_documents_the_endpoints_and_the_cap(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {"/v1/episodes", "/v1/runs/{run_id}/timeline"} <= set(spec["paths"])
    params = {p["name"]: p for p in spec["paths"]["/v1/episodes"]["get"]["parameters"]}
    assert params["tenant_id"]["required"] is True
    assert params["limit"]["schema"]["maximum"] == 1000
