"""Credentials: API keys (hashed, revocable) and HS256 JWTs; tenant and user from them only."""

from __future__ import annotations

import logging
import time
from typing import Any

import jwt
import pytest
import structlog

from servicekit.logging import configure_logging
from tests.unit.router.fakes import doc
from tests.unit.router.wiring import JWT_SECRET, World, bearer, client, compose, handles

pytestmark = pytest.mark.unit
QUESTION = {"text": "кратер необычной формы"}


def _jwt(secret: str = JWT_SECRET, **claims: Any) -> str:
    # Valid for a day: parametrised tokens are made at collection, and the whole suite may run
    # for longer than minutes before these tests do.
    body = {"tenant": "acme", "sub": "bob", "exp": int(time.time()) + 86_400, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret, algorithm="HS256")


def _world() -> World:
    world = World()
    world.retriever.docs["acme"] = [doc(1, "В Китае нашли ударный кратер необычной формы.")]
    world.retriever.docs["other"] = [doc(2, "Чужой кратер другого арендатора.", tenant="other")]
    return world


async def test_api_key_in_bearer_or_header_sets_tenant_and_user() -> None:
    world = _world()
    key = await world.key("acme", "alice")
    async with client(compose(world)) as (http, _):
        for headers in (bearer(key), {"X-API-Key": key}):
            r = await http.post("/v1/rag/query", json=QUESTION, headers=headers)
            assert r.status_code == 200, r.text
            assert [s["post_id"] for s in r.json()["sources"]] == ["acme:-1001000724666:1"]
    assert {t for t, _ in world.retriever.requests} == {"acme"}
    assert {(t.tenant_id, t.user_id) for t in world.turns.rows} == {("acme", "alice")}


async def test_the_stored_key_is_a_digest_not_the_key() -> None:
    world = _world()
    key = await world.key()
    stored = next(iter(world.keys.rows.items()))
    assert stored[0] != key.encode()
    assert len(stored[0]) == 32
    assert key not in repr(stored[1])


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"Authorization": "Basic abc"}, "invalid"),
        ({"Authorization": "Bearer "}, "invalid"),
        ({"Authorization": "Bearer not-a-credential"}, "invalid"),
        ({"Authorization": "Bearer tgi_0123456789ab_" + "A" * 43}, "unknown_key"),
    ],
)
async def test_missing_or_bad_credential_is_401(headers: dict[str, str], reason: str) -> None:
    world = _world()
    app = compose(world)
    async with client(app) as (http, _):
        r = await http.post("/v1/rag/query", json=QUESTION, headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.json()["detail"]
    registry = app.kit.metrics.registry
    assert registry.get_sample_value("router_auth_failures_total", {"reason": reason}) == 1
    assert world.retriever.requests == []


async def test_revoked_key_is_403_once_the_cache_expires() -> None:
    world = _world()
    key = await world.key()
    key_id = next(iter(world.keys.rows.values())).key_id
    async with client(compose(world, key_cache_ttl_s=5)) as (http, _):
        assert (
            await http.post("/v1/rag/query", json=QUESTION, headers=bearer(key))
        ).status_code == 200
        await world.keys.revoke(key_id, world.clock.now())
        world.clock.advance(6)
        r = await http.post("/v1/rag/query", json=QUESTION, headers=bearer(key))
    assert r.status_code == 403
    assert key_id in r.json()["detail"]
    assert key not in r.text


async def test_key_lookups_are_cached() -> None:
    world = _world()
    key = await world.key()
    async with client(compose(world)) as (http, _):
        for _ in range(3):
            await http.post("/v1/rag/query", json=QUESTION, headers=bearer(key))
    assert world.keys.finds == 1


async def test_jwt_good_sets_tenant_and_user() -> None:
    world = _world()
    async with client(compose(world)) as (http, _):
        r = await http.post("/v1/rag/query", json=QUESTION, headers=bearer(_jwt(tenant="other")))
    assert r.status_code == 200, r.text
    assert [s["post_id"] for s in r.json()["sources"]] == ["other:-1001000724666:2"]
    assert {(t.tenant_id, t.user_id) for t in world.turns.rows} == {("other", "bob")}


@pytest.mark.parametrize(
    ("token", "reason", "says"),
    [
        (_jwt(exp=int(time.time()) - 3600), "expired", "expired"),
        (_jwt(secret="another-secret-of-at-least-32-characters!!"), "bad_signature", "signature"),
        (_jwt(exp=None), "invalid", "'exp'"),
        (_jwt(tenant=None), "invalid", "'tenant'"),
        (_jwt(tenant="no spaces allowed"), "invalid", "tenant"),
        (
            jwt.encode({"tenant": "acme", "sub": "x", "exp": 2**40}, key="", algorithm="none"),
            "invalid",
            "invalid",
        ),
    ],
)
async def test_bad_jwt_is_401(token: str, reason: str, says: str) -> None:
    world = _world()
    app = compose(world)
    async with client(app) as (http, _):
        r = await http.post("/v1/rag/query", json=QUESTION, headers=bearer(token))
    assert r.status_code == 401, r.text
    assert says in r.json()["detail"]
    registry = app.kit.metrics.registry
    assert registry.get_sample_value("router_auth_failures_total", {"reason": reason}) == 1


async def test_jwt_refused_when_no_secret_is_configured() -> None:
    async with client(compose(_world(), jwt_secret=None)) as (http, _):
        r = await http.post("/v1/rag/query", json=QUESTION, headers=bearer(_jwt()))
    assert r.status_code == 401
    assert "not configured" in r.json()["detail"]


async def test_key_store_down_is_503_not_500() -> None:
    world = _world()
    key = await world.key()
    world.keys.down = True
    async with client(compose(world)) as (http, _):
        r = await http.post("/v1/rag/query", json=QUESTION, headers=bearer(key))
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/rag/query"),
        ("GET", "/v1/runs/r1"),
        ("GET", "/v1/runs/r1/manifest"),
        ("POST", "/v1/digests"),
        ("GET", "/v1/digests/r1"),
        ("GET", "/v1/trends"),
    ],
)
async def test_every_endpoint_needs_a_credential(method: str, path: str) -> None:
    async with client(compose(_world())) as (http, _):
        r = await http.request(method, path, json={})
    assert r.status_code == 401, (path, r.text)


async def test_health_ready_metrics_need_none() -> None:
    async with client(compose(_world())) as (http, _):
        assert (await http.get("/health")).status_code == 200
        assert (await http.get("/metrics")).status_code == 200
        assert (await http.get("/ready")).status_code in (200, 503)  # not started: 503


async def test_secrets_never_reach_the_logs(capsys: pytest.CaptureFixture[str]) -> None:
    world = _world()
    key = await world.key()
    token = _jwt()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("DEBUG", json=True, service="router")
    try:
        async with client(compose(world)) as (http, _):
            await http.post("/v1/rag/query", json=QUESTION, headers=bearer(key))
            await http.post("/v1/rag/query", json=QUESTION, headers=bearer(token))
            await http.post("/v1/rag/query", json=QUESTION, headers=bearer(key[:-1] + "Z"))
            await http.post("/v1/rag/query", json=QUESTION, headers=bearer(_jwt(secret="x" * 40)))
            r = await http.post("/v1/rag/query", json={"text": 1, "k": key}, headers=bearer(key))
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        structlog.reset_defaults()
    assert r.status_code == 422
    assert key not in r.text
    logged = capsys.readouterr().err
    assert '"auth_refused"' in logged  # the failures were logged, just not their secrets
    for secret in (key, key[:-1] + "Z", token, JWT_SECRET, key[len("tgi_0123456789ab_") :]):
        assert secret not in logged
    assert JWT_SECRET not in repr(handles(compose(_world())).authenticator.__dict__)
