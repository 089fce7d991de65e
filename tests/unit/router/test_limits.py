"""Request limits: body size (413), query length and shape (422), identity fields in the
body (refused), and the per-credential rate limit (429 with Retry-After)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.router.auth.ratelimit import RateLimiter
from tests.unit.router.fakes import doc
from tests.unit.router.wiring import World, bearer, client, compose

pytestmark = pytest.mark.unit


def _world() -> World:
    world = World()
    world.retriever.docs["acme"] = [doc(1, "В Китае нашли ударный кратер необычной формы.")]
    return world


async def test_declared_oversized_body_is_413_before_reading() -> None:
    world = _world()
    key = await world.key()
    body = '{"text": "' + "к" * 20_000 + '"}'
    async with client(compose(world, max_body_bytes=16_384)) as (http, _):
        r = await http.post(
            "/v1/rag/query",
            content=body.encode(),
            headers={**bearer(key), "Content-Type": "application/json"},
        )
    assert r.status_code == 413
    assert "16384" in r.json()["detail"]
    assert world.retriever.requests == []


async def test_chunked_oversized_body_is_413() -> None:
    world = _world()
    key = await world.key()

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(40):
            yield b"x" * 1000
        yield b'"}'

    async with client(compose(world, max_body_bytes=16_384)) as (http, _):
        r = await http.post(
            "/v1/rag/query",
            content=chunks(),
            headers={**bearer(key), "Content-Type": "application/json"},
        )
    assert r.status_code == 413
    assert world.retriever.requests == []


async def test_query_over_2000_characters_is_422_with_a_clear_message() -> None:
    world = _world()
    key = await world.key()
    async with client(compose(world)) as (http, _):
        r = await http.post("/v1/rag/query", json={"text": "к" * 2001}, headers=bearer(key))
        ok = await http.post("/v1/rag/query", json={"text": "к" * 2000}, headers=bearer(key))
    assert r.status_code == 422
    assert "text" in r.json()["message"]
    assert "2000" in r.json()["message"]
    assert "к" * 50 not in r.text  # the input is not echoed
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "   "},
        {"text": "a\x00b"},
        {"text": "ok", "since": "2024-12-04T00:00:00"},  # naive datetime
        {"text": "ok", "since": "2024-12-05T00:00:00Z", "until": "2024-12-04T00:00:00Z"},
        {"text": "ok", "qos": "turbo"},
        {"text": "ok", "channels": ["bad channel"]},
        {"text": "ok", "budget": {"max_llm_calls": 1000}},
        {"text": "ok", "unknown": 1},
        ["not", "an", "object"],
    ],
)
async def test_invalid_bodies_are_422(body: object) -> None:
    world = _world()
    key = await world.key()
    async with client(compose(world)) as (http, _):
        r = await http.post("/v1/rag/query", json=body, headers=bearer(key))
    assert r.status_code == 422, r.text
    assert r.json()["message"]


async def test_not_json_is_422() -> None:
    world = _world()
    key = await world.key()
    async with client(compose(world)) as (http, _):
        r = await http.post(
            "/v1/rag/query",
            content=b"{nope",
            headers={**bearer(key), "Content-Type": "application/json"},
        )
    assert r.status_code == 422


@pytest.mark.parametrize("field", ["tenant_id", "tenant", "user_id"])
async def test_a_body_naming_a_tenant_or_user_is_refused(field: str) -> None:
    world = _world()
    world.retriever.docs["other"] = [doc(9, "Чужой пост.", tenant="other")]
    key = await world.key("acme", "alice")
    async with client(compose(world)) as (http, _):
        r = await http.post(
            "/v1/rag/query", json={"text": "кратер", field: "other"}, headers=bearer(key)
        )
    assert r.status_code == 422
    assert "credential" in r.json()["message"]
    assert world.retriever.requests == []


async def test_rate_limit_per_key_is_429_with_retry_after() -> None:
    world = _world()
    alice, bob = await world.key("acme", "alice"), await world.key("acme", "bob")
    app = compose(world, rate_limit_per_s=0.5, rate_limit_burst=3)
    async with client(app) as (http, _):
        codes = [
            (await http.post("/v1/rag/query", json={"text": "кратер"}, headers=bearer(alice)))
            for _ in range(4)
        ]
        other = await http.post("/v1/rag/query", json={"text": "кратер"}, headers=bearer(bob))
        world.clock.advance(2.0)  # one token back at 0.5/s
        again = await http.post("/v1/rag/query", json={"text": "кратер"}, headers=bearer(alice))
    assert [r.status_code for r in codes] == [200, 200, 200, 429]
    assert codes[3].headers["Retry-After"] == "2"
    assert "rate limit" in codes[3].json()["detail"]
    assert other.status_code == 200  # per key, not global
    assert again.status_code == 200
    assert app.kit.metrics.registry.get_sample_value("router_rate_limited_total") == 1


def test_token_bucket_refills_and_forgets_lru_subjects() -> None:
    now = [0.0]
    limiter = RateLimiter(1.0, 2, monotonic=lambda: now[0], max_subjects=2)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 1.0]
    now[0] = 0.5
    assert limiter.take("a") == pytest.approx(0.5)
    now[0] = 1.0
    assert limiter.take("a") == 0.0
    limiter.take("b")
    limiter.take("c")  # "a" is the least recently used: forgotten, so full again
    assert limiter.take("a") == 0.0
    assert limiter.take("a") == 0.0
    with pytest.raises(ValueError, match="rate_per_s"):
        RateLimiter(0, 1, monotonic=lambda: 0.0)
